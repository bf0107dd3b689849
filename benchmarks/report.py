"""The Markdown report of a benchmark run: the machine, every target with its measured value
and verdict, the raw medians, the profile, and how to rerun."""

from __future__ import annotations

import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.loadgen import Target, wrk_command
from benchmarks.scenarios import ColdStarts, InstanceMemory, LoadSeries, ScaleResult, SoakResult, percentile

if TYPE_CHECKING:
    from benchmarks.profile import Profile
    from benchmarks.run import Plan

FLOOR = "floor (Starlette on uvicorn)"
# Hand-written analysis of the targets, kept beside the bench and included in every report.
NOTES = Path(__file__).parent / "notes.md"


@dataclass
class Results:
    plan_quick: bool
    connections: int
    machine: dict[str, str] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    targets: list[Target] = field(default_factory=list)
    load: dict[str, LoadSeries] = field(default_factory=dict)
    instance_memory: dict[str, InstanceMemory] = field(default_factory=dict)
    cold: dict[str, ColdStarts] = field(default_factory=dict)
    spaced: dict[str, ColdStarts] = field(default_factory=dict)
    burst: dict[str, ColdStarts] = field(default_factory=dict)
    create_ms: dict[str, list[float]] = field(default_factory=dict)
    scale: ScaleResult | None = None
    soak: SoakResult | None = None
    soak_command: str = ""
    profile: Profile | None = None
    # What the server logged about its sandbox at start, e.g. mechanisms this host lacks.
    isolation: list[str] = field(default_factory=list)
    # Why the run stopped early, when it did.
    failure: str = ""
    # (phase, 1-minute load average of the machine when the phase started)
    load_averages: list[tuple[str, float]] = field(default_factory=list)


def _command(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "(not available)"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": _command(["nproc"]),
        "free -h": _command(["free", "-h"]),
        "uname -r": _command(["uname", "-r"]),
        "CPU model": cpu,
        "Python": platform.python_version(),
        "Node": _command(["node", "--version"]),
        "wrk": _command(["wrk", "--version"]).splitlines()[0] if _command(["wrk", "--version"]) else "",
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratios(series_a: list[float], series_b: list[float]) -> float:
    """Median of the per-repetition ratios a/b: each repetition measured both close in time."""
    ratios = [a / b for a, b in zip(series_a, series_b, strict=True) if b]
    return _median(ratios)


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


class Table:
    def __init__(self) -> None:
        self.rows: list[str] = []

    def add(self, figure: str, target: str, measured: str, ok: bool | None) -> None:
        verdict = "—" if ok is None else _mark(ok)
        self.rows.append(f"| {figure} | {target} | {measured} | {verdict} |")

    def render(self) -> list[str]:
        return ["| figure | target | measured | verdict |", "|---|---|---|---|", *self.rows]


def _load_rows(results: Results, table: Table) -> None:
    floor = results.load.get(FLOOR)
    c = results.connections
    if floor is None:
        return
    floor_p50 = [r.p50_ms for r in floor.one]
    floor_rps = [r.requests_per_second for r in floor.many]
    for kind in ("python", "node"):
        for route, peer_route in (("invoke", "invoke"), ("public URL", "HTTP")):
            name = f"rocketstack {route} {kind}"
            series = results.load.get(name)
            if series is None:
                continue
            p50 = [r.p50_ms for r in series.one]
            rps = [r.requests_per_second for r in series.many]
            p99 = [r.p99_ms for r in series.many]
            errors = sum(r.errors for r in series.one + series.many)
            ratio_p50 = _ratios(p50, floor_p50)
            ratio_rps = _ratios(rps, floor_rps)
            table.add(
                f"{route} {kind}: p50 at 1 connection / floor's",
                "≤ 2×",
                f"{ratio_p50:.2f}× ({_median(p50):.3f} ms vs {_median(floor_p50):.3f} ms)",
                ratio_p50 <= 2.0,
            )
            table.add(
                f"{route} {kind}: req/s at {c} connections / floor's",
                "≥ 0.6×",
                f"{ratio_rps:.2f}× ({_median(rps):.0f} vs {_median(floor_rps):.0f})",
                ratio_rps >= 0.6,
            )
            table.add(f"{route} {kind}: p99 at {c} connections", "≤ 15 ms", f"{_median(p99):.2f} ms", _median(p99) <= 15)
            table.add(f"{route} {kind}: errors", "0", str(errors), errors == 0)
            peer = results.load.get(f"serverless-offline {peer_route} {kind}")
            if peer is None:
                continue
            peer_rps = [r.requests_per_second for r in peer.many]
            peer_p99 = [r.p99_ms for r in peer.many]
            vs_rps = _ratios(rps, peer_rps)
            vs_p99 = _ratios(p99, peer_p99)
            table.add(
                f"{route} {kind}: req/s / serverless-offline {peer_route}'s",
                "≥ 3×",
                f"{vs_rps:.1f}× ({_median(rps):.0f} vs {_median(peer_rps):.0f})",
                vs_rps >= 3,
            )
            table.add(
                f"{route} {kind}: p99 / serverless-offline {peer_route}'s",
                "≤ 0.33×",
                f"{vs_p99:.3f}× ({_median(p99):.2f} ms vs {_median(peer_p99):.2f} ms)",
                vs_p99 <= 1 / 3,
            )


def _cold_rows(results: Results, table: Table) -> None:
    limits = {"python": (10, 30), "node": (15, 40)}
    for kind, (p50_limit, p99_limit) in limits.items():
        for label, data in (
            ("flood of functions", results.cold.get(kind)),
            ("spaced", results.spaced.get(kind)),
            ("burst", results.burst.get(kind)),
        ):
            if data is None:
                continue
            if not data.latency_ms:
                table.add(
                    f"cold start {kind} ({label}, 0 calls): p50 / p99 at the client",
                    f"≤ {p50_limit} / ≤ {p99_limit} ms",
                    f"no call started an instance ({data.warm_hits} found one warm)",
                    None,
                )
                continue
            p50 = percentile(data.latency_ms, 0.5)
            p99 = percentile(data.latency_ms, 0.99)
            table.add(
                f"cold start {kind} ({label}, {len(data.latency_ms)} calls): p50 / p99 at the client",
                f"≤ {p50_limit} / ≤ {p99_limit} ms",
                f"{p50:.1f} / {p99:.1f} ms (init reported {percentile(data.init_ms, 0.5):.1f} ms p50)",
                p50 <= p50_limit and p99 <= p99_limit,
            )


def _scale_rows(results: Results, table: Table) -> None:
    for kind, values in results.create_ms.items():
        if values:
            p50 = percentile(values, 0.5)
            table.add(f"create → ready {kind}, {len(values)} small ZIPs: p50", "≤ 50 ms", f"{p50:.1f} ms", p50 <= 50)
    scale = results.scale
    if scale is not None:
        table.add(
            f"{scale.functions} deployed functions, idle: instances left (pre-started off)",
            "0",
            str(scale.idle_instance_processes),
            scale.idle_instance_processes == 0,
        )
        # The cost of the functions is what they add to the server's resident set; the
        # server's own start-up footprint (web framework, database, Console, MCP) is apart.
        added = scale.rss_mb - scale.baseline_rss_mb
        table.add(
            f"{scale.functions} deployed functions: server memory they cost (RSS growth)",
            "< 100 MB",
            f"{added:.1f} MB ({scale.baseline_rss_mb:.1f} MB at start → {scale.rss_mb:.1f} MB)",
            added < 100,
        )
        table.add(
            f"{scale.flood_functions} distinct functions invoked: most instances at once",
            f"≤ {scale.max_instances} (the cap)",
            str(scale.max_observed_instances),
            scale.max_observed_instances <= scale.max_instances,
        )
        table.add(
            "least recently used stop first: recent ones warm, the oldest cold",
            f"{scale.recent_checked} warm, oldest cold",
            f"{scale.recent_warm} warm, oldest {'cold' if scale.oldest_cold else 'warm'}",
            scale.recent_warm == scale.recent_checked and scale.oldest_cold,
        )
    limits = {"python": 3.0, "node": 15.0}
    for kind, limit in limits.items():
        memory = results.instance_memory.get(kind)
        if memory is not None:
            table.add(
                f"idle {kind} instance, its init and runtime summed: USS (median of {memory.count})",
                f"≤ {limit:.0f} MB",
                f"{memory.median_uss_mb:.1f} MB (max {memory.max_uss_mb:.1f}, RSS {memory.median_rss_mb:.1f})",
                memory.median_uss_mb <= limit,
            )


def _soak_rows(results: Results, table: Table) -> tuple[float, float]:
    soak = results.soak
    if soak is None:
        return float("nan"), float("nan")
    table.add(
        f"sustained {soak.seconds:.0f} s at 80% of peak: rate / errors",
        "≈ 0.8× peak, 0 errors",
        f"{soak.rps / soak.peak_rps:.2f}× of {soak.peak_rps:.0f} req/s, {soak.errors} errors",
        # The pacing is calibrated once; a rate that fell well below 80% (the machine got
        # busier) does not show the load the target asks for.
        soak.errors == 0 and soak.rps >= 0.7 * soak.peak_rps,
    )
    # Memory is flat when the server's RSS grows less than 5% after the first tenth of the
    # run (the first tenth covers instance start-up and allocator warm-up).
    steady = [s for s in soak.samples if s[0] >= soak.seconds / 10] or soak.samples
    first, last = steady[0][1], steady[-1][1]
    growth = (last - first) / first if first else float("nan")
    table.add(
        "sustained: server RSS growth after the first tenth",
        "< 5% (flat)",
        f"{first:.1f} → {last:.1f} MB ({100 * growth:+.1f}%)",
        growth < 0.05,
    )
    return first, last


def render(results: Results, plan: Plan, argv: list[str]) -> str:
    table = Table()
    _load_rows(results, table)
    _cold_rows(results, table)
    _scale_rows(results, table)
    _soak_rows(results, table)
    lines = [
        "# Benchmarks",
        "",
        "Rocketstack against a floor (a bare Starlette app on uvicorn returning the same "
        '`{"ok": true}`) and against serverless-offline, all on loopback, with handlers that '
        'return `{"ok": true}` (`benchmarks/handlers/`). Each server runs with its default '
        "sandbox backend and every function with its memory limit (the default, 256 MB).",
        "",
        "The server's start-up lines about isolation in this run: "
        + ("; ".join(f"`{line}`" for line in results.isolation) or "none (no weaker mechanism reported)")
        + ".",
        "",
        *(
            [f"**The run stopped early** ({results.failure}); the figures below are those "
             "measured before that.", ""]
            if results.failure else []
        ),
        f"Run from {results.started} to {results.finished}"
        + (" in **quick mode** (tiny sizes; no verdict is meaningful)." if results.plan_quick else "."),
        "",
        "The machine is shared: other engineers ran test suites on it during this run, so "
        "absolute figures are noisy. Every ratio compares figures measured in the same run, "
        f"in {plan.repetitions} interleaved repetitions (each target once, then all again), "
        "and is the median of the per-repetition ratios. The machine's 1-minute load "
        "average when each phase started: "
        + ", ".join(f"{phase} {value:.1f}" for phase, value in results.load_averages)
        + " (2 cores: anything above 2 means other work was competing for them).",
        "",
        "## Targets",
        "",
        *table.render(),
        "",
        "## Throughput and latency, medians",
        "",
        f"| target | p50 at 1 connection | req/s at {results.connections} | p50 at {results.connections} | p99 at {results.connections} | errors |",
        "|---|---|---|---|---|---|",
    ]
    for target in results.targets:
        series = results.load.get(target.name)
        if series is None:
            continue
        lines.append(
            f"| {target.name} | {_median([r.p50_ms for r in series.one]):.3f} ms "
            f"| {_median([r.requests_per_second for r in series.many]):.0f} "
            f"| {_median([r.p50_ms for r in series.many]):.2f} ms "
            f"| {_median([r.p99_ms for r in series.many]):.2f} ms "
            f"| {sum(r.errors for r in series.one + series.many)} |"
        )
    lines += _cold_section(results)
    lines += _soak_section(results)
    lines += _profile_section(results)
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    lines += _commands_section(results, plan, argv)
    lines += ["", "## Machine", ""]
    for key, value in results.machine.items():
        if "\n" in value:
            lines += [f"`{key}`:", "", "```", value, "```", ""]
        else:
            lines.append(f"- `{key}`: {value}")
    return "\n".join(lines) + "\n"


def _cold_section(results: Results) -> list[str]:
    lines = ["", "## Cold starts", ""]
    lines.append(
        "Flood of functions: more distinct functions than the instance cap, invoked round "
        "robin, so every call finds its instance stopped and starts one; calls follow "
        "each other at once, faster than pre-started processes are replaced. Spaced: the "
        "same with a pause between calls, as when a new version or a function idle for a "
        "while is called and a pre-started process is free. Burst: parallel calls to a "
        "function that has one warm instance; only the calls that started an instance "
        "count. Latency is measured at the client (HTTP included); init is the platform's "
        "reported init duration."
    )
    lines += ["", "| runtime | case | calls | p50 | p99 | init p50 | warm hits |", "|---|---|---|---|---|---|---|"]
    for label, data in (("flood of functions", results.cold), ("spaced", results.spaced), ("burst", results.burst)):
        for kind, starts in data.items():
            lines.append(
                f"| {kind} | {label} | {len(starts.latency_ms)} "
                f"| {percentile(starts.latency_ms, 0.5):.1f} ms | {percentile(starts.latency_ms, 0.99):.1f} ms "
                f"| {percentile(starts.init_ms, 0.5):.1f} ms | {starts.warm_hits} |"
            )
    return lines


def _soak_section(results: Results) -> list[str]:
    soak = results.soak
    if soak is None:
        return []
    lines = [
        "",
        "## Sustained load",
        "",
        f"{soak.seconds:.0f} s on `rocketstack invoke python` at {soak.rps:.0f} req/s "
        f"({soak.rps / soak.peak_rps:.2f}× the peak of {soak.peak_rps:.0f}), p99 {soak.p99_ms:.2f} ms, "
        f"{soak.errors} errors. Memory samples:",
        "",
        "| time | server RSS | instance processes | their USS, summed |",
        "|---|---|---|---|",
    ]
    step = max(1, len(soak.samples) // 12)
    for sample in soak.samples[::step] + ([soak.samples[-1]] if soak.samples else []):
        lines.append(f"| {sample[0]:.0f} s | {sample[1]:.1f} MB | {sample[2]} | {sample[3]:.1f} MB |")
    return lines


def _profile_section(results: Results) -> list[str]:
    profile = results.profile
    if profile is None:
        return []
    lines = [
        "",
        "## Profile of the invoke path",
        "",
        f"py-spy, 10 s at 200 Hz on the server while wrk loads `rocketstack invoke python` at "
        f"{results.connections} connections ({profile.samples} samples, idle samples excluded). "
        "Where the samples land (self time):",
        "",
        "| frame | share |",
        "|---|---|",
    ]
    lines += [f"| `{frame}` | {share:.1f}% |" for frame, share in profile.self_time]
    lines += ["", "Rocketstack functions on the stack (inclusive):", "", "| frame | share |", "|---|---|"]
    lines += [f"| `{frame}` | {share:.1f}% |" for frame, share in profile.inclusive]
    return lines


def _commands_section(results: Results, plan: Plan, argv: list[str]) -> list[str]:
    c = results.connections
    sample = Target("example", "URL")
    one = " ".join(wrk_command(sample, 1, plan.seconds)).replace(str(_lua()), "benchmarks/wrk/request.lua")
    many = " ".join(wrk_command(sample, c, plan.seconds)).replace(str(_lua()), "benchmarks/wrk/request.lua")
    return [
        "",
        "## How it was measured and how to rerun",
        "",
        "Rerun everything with `make bench` (about 50 minutes on a busy machine: the sustained "
        "run takes 10 and deploying 10,000 functions about 25; it installs wrk from Debian and serverless-offline from npm when they are "
        "missing). `make bench BENCH_ARGS='--soak-seconds 60 --scale-functions 1000'` is a "
        "shorter run. This report was written by "
        f"`{' '.join(['python -m benchmarks.run', *argv])}`.",
        "",
        "Each target, per repetition (the request body is `{}`, `Content-Type: "
        "application/json`; the API adds `Authorization: Bearer KEY`):",
        "",
        "```",
        one,
        many,
        "```",
        "",
        "- The floor: `python -m benchmarks.floor PORT` (Starlette's `JSONResponse` on uvicorn "
        "with uvloop and httptools, as Rocketstack serves).",
        "- serverless-offline: serverless 3.40.0 and serverless-offline 13.9.0 pinned in "
        "`benchmarks/serverless/package.json`, `serverless offline start --httpPort P "
        "--lambdaPort Q` in `benchmarks/serverless`. Its invoke figure is the Lambda invoke "
        "API (`POST /2015-03-31/functions/NAME/invocations`), its HTTP figure an HTTP API "
        "route. serverless-offline 13.9 does not accept `python3.12`, so its Python function "
        "is declared `python3.11` and runs with the `python3` first on PATH, which the bench "
        "sets to the same Python 3.12 Rocketstack uses.",
        f"- Sustained load: `{results.soak_command}` with `BENCH_DELAY_MS` pacing each "
        "connection, calibrated in two 2 s runs to about 80% of the peak measured above.",
        "- Memory: RSS and USS (private clean + private dirty pages) from "
        "`/proc/PID/smaps_rollup` of the server and of each Python or Node process below it.",
    ]


def _lua() -> Any:
    from benchmarks.loadgen import LUA_SCRIPT

    return LUA_SCRIPT
