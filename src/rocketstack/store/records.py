"""Buffers log records and reports in memory and writes them in batches, so an invocation
never waits for the database."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rocketstack.store.database import Store
from rocketstack.store.models import LogRecord, Report

log = logging.getLogger(__name__)


# How often records past the retention period are deleted.
RETENTION_SWEEP_SECONDS = 600.0


class FunctionLogBudget:
    """Caps the bytes of handler output (stdout and stderr records) stored per function in
    each minute. Records past the cap are dropped and replaced by one system record per
    function and minute that names the cap. Platform records (stream "system") always pass."""

    def __init__(self, max_bytes_per_minute: int) -> None:
        self.max_bytes = max_bytes_per_minute
        self._minute = 0
        self._used: dict[str, int] = {}

    def admit(self, logs: list[LogRecord]) -> list[LogRecord]:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute = minute
            self._used.clear()
        kept: list[LogRecord] = []
        for record in logs:
            if record.stream == "system":
                kept.append(record)
                continue
            used = self._used.get(record.function_id, 0)
            if used > self.max_bytes:
                continue
            used += len(record.message)
            self._used[record.function_id] = used
            if used > self.max_bytes:
                kept.append(
                    LogRecord(
                        record.function_id,
                        record.request_id,
                        record.timestamp,
                        "system",
                        f"[rocketstack] log output truncated: this function wrote more than "
                        f"{self.max_bytes} bytes in one minute; output is dropped until the "
                        "next minute",
                    )
                )
                continue
            kept.append(record)
        return kept


class RecordBuffer:
    def __init__(
        self,
        store: Store,
        interval_seconds: float = 0.2,
        *,
        max_function_bytes_per_minute: int | None = None,
        retention_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.interval = interval_seconds
        self.budget = (
            FunctionLogBudget(max_function_bytes_per_minute)
            if max_function_bytes_per_minute is not None
            else None
        )
        self.retention_seconds = retention_seconds
        self._last_sweep = 0.0
        self._logs: list[LogRecord] = []
        self._reports: list[Report] = []
        # Rows of finished synchronous invocations for the invocations table, as
        # `store.invocations.sync_row` builds them.
        self._invocations: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._listeners: set[asyncio.Event] = set()

    def add(self, logs: list[LogRecord], report: Report | None) -> None:
        if self.budget is not None and logs:
            logs = self.budget.admit(logs)
        self._logs.extend(logs)
        if report is not None:
            self._reports.append(report)

    def add_invocation(self, row: dict[str, Any]) -> None:
        self._invocations.append(row)

    def subscribe(self) -> asyncio.Event:
        """Return an event that is set after each flush; for live log tails."""
        waiter = asyncio.Event()
        self._listeners.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._listeners.discard(waiter)

    async def flush(self) -> None:
        async with self._lock:
            if not self._logs and not self._reports and not self._invocations:
                return
            logs, self._logs = self._logs, []
            reports, self._reports = self._reports, []
            invocations, self._invocations = self._invocations, []
            try:
                await asyncio.to_thread(self.store.insert_records, logs, reports, invocations)
            except Exception:
                log.exception(
                    "failed to write %d log records, %d reports and %d invocations",
                    len(logs),
                    len(reports),
                    len(invocations),
                )
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

    async def sweep(self) -> None:
        """Delete the log records and reports older than the retention period."""
        if self.retention_seconds is None:
            return
        self._last_sweep = time.monotonic()
        cutoff = time.time() - self.retention_seconds
        try:
            await asyncio.to_thread(self.store.delete_records_before, cutoff)
        except Exception:
            log.exception("failed to delete log records older than %.0f s", self.retention_seconds)

    async def _run(self) -> None:
        await self.sweep()
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
            if time.monotonic() - self._last_sweep >= RETENTION_SWEEP_SECONDS:
                await self.sweep()


def billed_ms(duration_ms: float) -> int:
    return max(1, int(duration_ms + 0.999))


def now() -> float:
    return time.time()
