"""The clock schedules run by: the system clock, or a file that tests write to move time."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> float:
        """Return the current time in epoch seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FileClock:
    """Reads the time from a file on every call: epoch seconds or an ISO 8601 time. While
    the file is missing or unreadable, the last time read is used (the system clock before
    the first good read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: float | None = None
        self._warned = False

    def now(self) -> float:
        try:
            text = self.path.read_text().strip()
            value = _parse(text)
        except (OSError, ValueError) as error:
            if not self._warned:
                log.warning("cannot read the schedule clock from %s: %s", self.path, error)
                self._warned = True
            return self._last if self._last is not None else time.time()
        self._warned = False
        self._last = value
        return value


def _parse(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def make_clock(path: Path | None) -> Clock:
    return FileClock(path) if path is not None else SystemClock()
