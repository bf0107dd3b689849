"""Jinja filters that format times, sizes and rates the same way on every page."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from jinja2 import Environment


def iso_time(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clock_time(epoch: float) -> str:
    """Format a log timestamp as UTC time of day with milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S.%f")[:-3]


def time_ago(epoch: float | None, now: float | None = None) -> str:
    if epoch is None:
        return "never"
    seconds = max(0, int((now or time.time()) - epoch))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def percent(rate: float | None) -> str:
    if rate is None:
        return "–"
    if 0 < rate < 0.001:
        return "<0.1%"
    return f"{rate * 100:.1f}%".replace(".0%", "%")


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def install(environment: Environment) -> None:
    environment.filters.update(
        iso_time=iso_time,
        clock_time=clock_time,
        time_ago=time_ago,
        percent=percent,
        size=size,
        duration=duration,
    )
