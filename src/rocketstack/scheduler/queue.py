"""The queue of invocations: events are stored before they are accepted, then run by this
worker with retries and backoff. Delivery is at least once: an attempt cut short by a stop
or crash of the server runs again after the next start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

import orjson

from rocketstack.context import request_id_var
from rocketstack.deploy.pipeline import CREATING
from rocketstack.errors import FunctionPaused, NotFound, RocketstackError, Throttled
from rocketstack.runtime.instance import Outcome
from rocketstack.runtime.pool import InstancePool
from rocketstack.service import FunctionService
from rocketstack.settings import Settings
from rocketstack.store.invocations import (
    QUEUED,
    STATUS_FAILED,
    STATUS_QUEUED,
    STATUS_SUCCEEDED,
    InvocationRecord,
    InvocationStore,
)
from rocketstack.store.models import FunctionRecord

log = logging.getLogger(__name__)

# Results larger than this are not kept; the invocation still succeeds.
MAX_RESULT_BYTES = 1024 * 1024
# Maximum wait between retries, whatever the doubling reaches.
MAX_BACKOFF_SECONDS = 900.0
# How long a paused, throttled or still-creating function is skipped before a new look.
_HOLD_SECONDS = 0.5
# Maximum sleep of the worker without a wake-up, so held functions get another look.
_MAX_IDLE_SECONDS = 1.0
_CLEANUP_INTERVAL_SECONDS = 3600.0


def new_invocation(
    record: FunctionRecord,
    payload: bytes,
    trigger: str,
    *,
    schedule_id: str | None = None,
    now: float | None = None,
) -> InvocationRecord:
    now = time.time() if now is None else now
    return InvocationRecord(
        id=str(uuid.uuid4()),
        tenant_id=record.tenant_id,
        function_id=record.id,
        type=QUEUED,
        trigger=trigger,
        status=STATUS_QUEUED,
        created_at=now,
        payload=payload,
        schedule_id=schedule_id,
        queued_at=now,
        next_attempt_at=now,
    )


class EventQueue:
    def __init__(
        self,
        settings: Settings,
        invocations: InvocationStore,
        functions: FunctionService,
        pool: InstancePool,
    ) -> None:
        self.settings = settings
        self.invocations = invocations
        self.functions = functions
        self.pool = pool
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._attempts: dict[str, asyncio.Task[None]] = {}
        # Running attempts per function, and the reserved concurrency each ran under.
        self._active: dict[str, int] = {}
        self._limits: dict[str, int | None] = {}
        # Function id -> time before which its queued events are not looked at.
        self._held: dict[str, float] = {}
        self._last_cleanup = 0.0

    async def start(self) -> None:
        requeued = await asyncio.to_thread(self.invocations.requeue_interrupted, time.time())
        if requeued:
            log.info("queued %d invocations again that a server stop interrupted", requeued)
        self._loop_task = asyncio.create_task(self._run(), name="event-queue")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._attempts.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def enqueue(
        self, record: FunctionRecord, payload: bytes, trigger: str, schedule_id: str | None = None
    ) -> InvocationRecord:
        """Store an event durably and hand it to the worker; return its record."""
        # NOTE: SQLite runs with synchronous=NORMAL in WAL mode, so a stored event survives a
        # crash of the server but the last commits before a power loss may not.
        invocation = new_invocation(record, payload, trigger, schedule_id=schedule_id)
        await asyncio.to_thread(self.invocations.insert, invocation)
        self.wake()
        return invocation

    async def redrive(self, record: FunctionRecord, invocation_id: str | None) -> list[str]:
        ids = await asyncio.to_thread(
            self.invocations.redrive, record.id, invocation_id, time.time()
        )
        if ids:
            log.info("re-driving %d failed invocations of function %s", len(ids), record.id)
            self.wake()
        return ids

    def forget(self, record: FunctionRecord) -> None:
        """Delete a deleted function's invocations; running attempts end on their own."""
        self.invocations.delete_function(record.id)

    # The worker.

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._dispatch()
                await self._clean_up()
            except Exception:
                log.exception("the invocation queue failed to dispatch; trying again")
                delay = _MAX_IDLE_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _dispatch(self) -> float:
        """Start due attempts up to the concurrency limits; return how long to sleep."""
        now = time.time()
        free = self.settings.queue_concurrency - len(self._attempts)
        skip = self._skipped(now)
        if free > 0:
            due = await asyncio.to_thread(self.invocations.due, now, free * 2, skip)
            for invocation in due:
                if len(self._attempts) >= self.settings.queue_concurrency:
                    break
                if invocation.function_id in skip:
                    continue
                if not await self._try_start(invocation, now):
                    skip.add(invocation.function_id)
        next_due = await asyncio.to_thread(self.invocations.next_due_time, skip | set(self._held))
        if next_due is None:
            return _MAX_IDLE_SECONDS
        return min(_MAX_IDLE_SECONDS, max(0.0, next_due - time.time()))

    def _skipped(self, now: float) -> set[str]:
        for function_id, until in list(self._held.items()):
            if until <= now:
                del self._held[function_id]
        skip = set(self._held)
        for function_id, count in self._active.items():
            limit = self._limits.get(function_id)
            if limit is not None and count >= limit:
                skip.add(function_id)
        return skip

    async def _try_start(self, invocation: InvocationRecord, now: float) -> bool:
        """Start an attempt of `invocation`; False when its function must wait, so the rest
        of its events are skipped in this round."""
        try:
            record = self.functions.get(invocation.tenant_id, invocation.function_id)
        except NotFound:
            await asyncio.to_thread(
                self.invocations.set,
                invocation.id,
                status=STATUS_FAILED,
                status_reason="the function was deleted",
                next_attempt_at=None,
                finished_at=now,
            )
            return True
        if now - (invocation.queued_at or invocation.created_at) > record.max_event_age_seconds:
            await self._expire(record, now)
            return True

        reserved = record.reserved_concurrency
        if record.status == CREATING or reserved == 0:
            # A paused function's events wait for it to resume, up to their maximum age.
            self._held[record.id] = now + _HOLD_SECONDS
            await self._expire(record, now)
            return False
        if reserved is not None and self._active.get(record.id, 0) >= reserved:
            return False

        request_id = str(uuid.uuid4())
        claimed = await asyncio.to_thread(self.invocations.claim, invocation, request_id, now)
        if not claimed:
            return True
        self._active[record.id] = self._active.get(record.id, 0) + 1
        self._limits[record.id] = reserved
        self._attempts[invocation.id] = asyncio.create_task(
            self._attempt(invocation, record, request_id), name=f"invocation-{invocation.id}"
        )
        return True

    async def _expire(self, record: FunctionRecord, now: float) -> None:
        reason = (
            f"dropped: the event waited longer than maxEventAgeSeconds "
            f"({record.max_event_age_seconds} s) without a successful attempt"
        )
        expired = await asyncio.to_thread(
            self.invocations.expire, record.id, now - record.max_event_age_seconds, reason, now
        )
        if expired:
            log.info(
                "dropped %d queued invocations of function %s older than their maximum age",
                expired,
                record.id,
            )

    async def _attempt(
        self, invocation: InvocationRecord, record: FunctionRecord, request_id: str
    ) -> None:
        token = request_id_var.set(request_id)
        try:
            await self._run_attempt(invocation, record, request_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "attempt %d of invocation %s failed to run", invocation.attempts, invocation.id
            )
        finally:
            request_id_var.reset(token)
            self._attempts.pop(invocation.id, None)
            self._active[record.id] -= 1
            if self._active[record.id] <= 0:
                del self._active[record.id]
                self._limits.pop(record.id, None)
            self.wake()

    async def _run_attempt(
        self, invocation: InvocationRecord, record: FunctionRecord, request_id: str
    ) -> None:
        started = time.time()
        version = record.version
        try:
            spec = self.functions.ready_spec(record)
            version = spec.version
            result = await self.pool.invoke(spec, request_id, invocation.payload or b"{}")
        except (FunctionPaused, Throttled):
            # Reserved concurrency makes queued work wait; this was no attempt.
            self._held[record.id] = time.time() + _HOLD_SECONDS
            await asyncio.to_thread(
                self.invocations.set,
                invocation.id,
                status=STATUS_QUEUED,
                attempts=invocation.attempts - 1,
                request_ids=invocation.request_ids[:-1],
                next_attempt_at=time.time(),
            )
            return
        except RocketstackError as error:
            body = orjson.dumps(
                {"errorType": error.code, "errorMessage": error.message, "stackTrace": []}
            )
            await self._finish_failure(invocation, record, version, body, started, 0.0)
            return
        if result.outcome is Outcome.SUCCESS:
            await self._finish_success(
                invocation, version, result.body, started, result.duration_ms
            )
        else:
            await self._finish_failure(
                invocation, record, version, result.body, started, result.duration_ms
            )

    async def _finish_success(
        self,
        invocation: InvocationRecord,
        version: int,
        body: bytes,
        started: float,
        duration_ms: float,
    ) -> None:
        kept = len(body) <= MAX_RESULT_BYTES
        reason = None
        if not kept:
            reason = f"the result was {len(body)} bytes; results over {MAX_RESULT_BYTES} bytes are not kept"
        await asyncio.to_thread(
            self.invocations.set,
            invocation.id,
            status=STATUS_SUCCEEDED,
            status_reason=reason,
            result=body if kept else None,
            error=None,
            version=version,
            next_attempt_at=None,
            started_at=started,
            finished_at=time.time(),
            duration_ms=round(duration_ms, 3),
        )

    async def _finish_failure(
        self,
        invocation: InvocationRecord,
        record: FunctionRecord,
        version: int,
        body: bytes,
        started: float,
        duration_ms: float,
    ) -> None:
        error_type, message = _describe(body)
        attempt = invocation.attempts
        retries = record.max_retry_attempts
        now = time.time()
        values: dict[str, object] = {
            "error": body,
            "result": None,
            "version": version,
            "started_at": started,
            "duration_ms": round(duration_ms, 3),
        }
        if attempt <= retries:
            delay = min(
                MAX_BACKOFF_SECONDS, self.settings.queue_retry_base_seconds * 2 ** (attempt - 1)
            )
            values.update(
                status=STATUS_QUEUED,
                next_attempt_at=now + delay,
                status_reason=f"attempt {attempt} failed with {error_type}; retry {attempt} of "
                f"{retries} in {delay:g} s",
            )
            log.info(
                "invocation %s attempt %d failed with %s; retrying in %g s",
                invocation.id,
                attempt,
                error_type,
                delay,
            )
        else:
            values.update(
                status=STATUS_FAILED,
                next_attempt_at=None,
                finished_at=now,
                status_reason=f"failed after {attempt} attempt{'s' if attempt != 1 else ''}: "
                f"{error_type}: {message}"[:1000],
            )
            log.info(
                "invocation %s failed after %d attempts with %s", invocation.id, attempt, error_type
            )
        await asyncio.to_thread(self.invocations.set, invocation.id, **values)

    async def _clean_up(self) -> None:
        """Delete finished invocations older than the log retention, once an hour."""
        now = time.time()
        if now - self._last_cleanup < _CLEANUP_INTERVAL_SECONDS:
            return
        self._last_cleanup = now
        cutoff = now - self.settings.log_retention_days * 86400
        deleted = await asyncio.to_thread(self.invocations.delete_finished_before, cutoff)
        if deleted:
            log.info(
                "deleted %d finished invocations older than %d days",
                deleted,
                self.settings.log_retention_days,
            )


def _describe(body: bytes) -> tuple[str, str]:
    try:
        error = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "Error", body.decode("utf-8", "replace")[:200]
    if not isinstance(error, dict):
        return "Error", str(error)[:200]
    return str(error.get("errorType") or "Error"), str(error.get("errorMessage") or "")[:500]
