"""Buffers log records and reports in memory and writes them in batches, so an invocation
never waits for the database."""

from __future__ import annotations

import asyncio
import logging
import time

from rocketstack.store.database import Store
from rocketstack.store.models import LogRecord, Report

log = logging.getLogger(__name__)


class RecordBuffer:
    def __init__(self, store: Store, interval_seconds: float = 0.2) -> None:
        self.store = store
        self.interval = interval_seconds
        self._logs: list[LogRecord] = []
        self._reports: list[Report] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._listeners: set[asyncio.Event] = set()

    def add(self, logs: list[LogRecord], report: Report | None) -> None:
        self._logs.extend(logs)
        if report is not None:
            self._reports.append(report)

    def subscribe(self) -> asyncio.Event:
        """Return an event that is set after each flush; for live log tails."""
        waiter = asyncio.Event()
        self._listeners.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._listeners.discard(waiter)

    async def flush(self) -> None:
        async with self._lock:
            if not self._logs and not self._reports:
                return
            logs, self._logs = self._logs, []
            reports, self._reports = self._reports, []
            try:
                await asyncio.to_thread(self.store.insert_records, logs, reports)
            except Exception:
                log.exception("failed to write %d log records and %d reports", len(logs), len(reports))
                return
        for waiter in self._listeners:
            waiter.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="record-flusher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()


def billed_ms(duration_ms: float) -> int:
    return max(1, int(duration_ms + 0.999))


def now() -> float:
    return time.time()
