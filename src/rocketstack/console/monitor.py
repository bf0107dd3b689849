"""The Monitor tab: invocations, errors, throttles and duration percentiles over time,
counted from the stored reports and drawn as SVG on the server."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rocketstack.console.charts import Chart, Series, chart
from rocketstack.console.functions import function_context
from rocketstack.store.console_queries import ERROR_OUTCOMES, ReportPoint, report_points
from rocketstack.store.models import FunctionRecord

if TYPE_CHECKING:
    from rocketstack.console.app import Console

# Window name: (label, seconds, bin seconds).
WINDOWS = {
    "1h": ("Last hour", 3600, 60),
    "6h": ("Last 6 hours", 6 * 3600, 300),
    "24h": ("Last 24 hours", 24 * 3600, 900),
    "7d": ("Last 7 days", 7 * 86400, 7200),
}
# Reports read for one view; a busier window shows its latest reports only.
MAX_REPORTS = 200_000


@dataclass
class Bin:
    start: float
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    durations: list[float] | None = None


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile of an ascending list, or None when it is empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def bin_reports(points: list[ReportPoint], start: float, bin_seconds: int, count: int) -> list[Bin]:
    bins = [Bin(start + i * bin_seconds, durations=[]) for i in range(count)]
    for point in points:
        index = int((point.timestamp - start) // bin_seconds)
        if not 0 <= index < count:
            continue
        item = bins[index]
        if point.outcome == "throttled":
            item.throttles += 1
            continue
        item.invocations += 1
        if point.outcome in ERROR_OUTCOMES:
            item.errors += 1
        assert item.durations is not None
        item.durations.append(point.duration_ms)
    return bins


def _label(epoch: float, bin_seconds: int) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%b %d %H:%M" if bin_seconds >= 3600 else "%H:%M")


def duration_percentiles(bins: list[Bin]) -> dict[str, list[float | None]]:
    result: dict[str, list[float | None]] = {"p50": [], "p90": [], "p99": []}
    for item in bins:
        durations = sorted(item.durations or [])
        result["p50"].append(percentile(durations, 0.5))
        result["p90"].append(percentile(durations, 0.9))
        result["p99"].append(percentile(durations, 0.99))
    return result


def draw_charts(
    bins: list[Bin], labels: list[str], percentiles: dict[str, list[float | None]],
    title: str, bin_seconds: int,
) -> list[Chart]:
    totals = {
        "invocations": sum(b.invocations for b in bins),
        "errors": sum(b.errors for b in bins),
        "throttles": sum(b.throttles for b in bins),
    }
    minutes = bin_seconds // 60
    per_bin = f"per {minutes} min" if minutes < 60 else f"per {minutes // 60} h"
    return [
        chart(
            "invocations", f"Invocations {per_bin}",
            f"{totals['invocations']} invocations in the {title.lower()}.",
            labels, [Series("invocations", [b.invocations for b in bins], "bar-invocations")],
            kind="bars",
        ),
        chart(
            "errors", f"Errors {per_bin}",
            f"{totals['errors']} invocations ended with an error, timeout or out-of-memory kill.",
            labels, [Series("errors", [b.errors for b in bins], "bar-errors")],
            kind="bars",
        ),
        chart(
            "throttles", f"Throttles {per_bin}",
            f"{totals['throttles']} requests were throttled by reserved concurrency.",
            labels, [Series("throttles", [b.throttles for b in bins], "bar-throttles")],
            kind="bars",
        ),
        chart(
            "duration", "Duration percentiles",
            "p50, p90 and p99 of invocation duration in milliseconds per bin.",
            labels,
            [Series(name, values, f"line-{name}") for name, values in percentiles.items()],
            kind="lines", unit=" ms",
        ),
    ]


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        window = request.query_params.get("window", "1h")
        if window not in WINDOWS:
            window = "1h"
        title, seconds, bin_seconds = WINDOWS[window]

        # Bins end at the next whole bin, so the newest bin is the current one.
        count = seconds // bin_seconds
        end = (time.time() // bin_seconds + 1) * bin_seconds
        start = end - count * bin_seconds
        await console.platform.records.flush()
        points = report_points(console.platform.store.engine, record.id, start, MAX_REPORTS)
        bins = bin_reports(points, start, bin_seconds, count)
        labels = [_label(b.start, bin_seconds) for b in bins]
        percentiles = duration_percentiles(bins)

        all_durations = sorted(d for b in bins for d in (b.durations or []))
        rows = [
            (label, item, percentiles["p50"][i], percentiles["p90"][i], percentiles["p99"][i])
            for i, (label, item) in enumerate(zip(labels, bins, strict=True))
            if item.invocations or item.throttles
        ]
        return console.render(
            request,
            "tab_monitor.html",
            {
                **context,
                "tab": "monitor",
                "window": window,
                "windows": WINDOWS,
                "charts": draw_charts(bins, labels, percentiles, title, bin_seconds),
                "totals": {
                    "invocations": sum(b.invocations for b in bins),
                    "errors": sum(b.errors for b in bins),
                    "throttles": sum(b.throttles for b in bins),
                },
                "overall": {
                    "p50": percentile(all_durations, 0.5),
                    "p90": percentile(all_durations, 0.9),
                    "p99": percentile(all_durations, 0.99),
                },
                "rows": rows,
            },
        )

    return [Route("/functions/{function_id}/monitor", page, methods=["GET"])]
