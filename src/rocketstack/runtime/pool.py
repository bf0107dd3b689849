"""The instance pool: hands each invocation to a warm instance of its version or starts one,
enforces concurrency (reserved per function, a shared cap for the rest), stops idle
instances, and records logs and one report per invocation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import orjson

from rocketstack.errors import FunctionPaused, ServiceUnavailable, Throttled
from rocketstack.runtime.instance import (
    IllegalTransition,
    Instance,
    InstanceState,
    InvocationOutcome,
    LoadOutcome,
    Outcome,
)
from rocketstack.runtime.prestart import MAX_LINKED_ENTRIES, MAX_PER_SIZE, CodeLinker, Prestarter
from rocketstack.runtime.runtimes import RuntimeInfo
from rocketstack.runtime.spec import FunctionSpec
from rocketstack.sandbox.base import Sandbox
from rocketstack.settings import Settings
from rocketstack.store.models import LogRecord, Report
from rocketstack.store.records import RecordBuffer, billed_ms

log = logging.getLogger(__name__)
access_log = logging.getLogger("rocketstack.access")


@dataclass
class InvocationResult:
    request_id: str
    outcome: Outcome
    body: bytes
    duration_ms: float
    init_duration_ms: float | None
    max_memory_used_mb: int | None
    logs: list[LogRecord]


class InstancePool:
    def __init__(
        self,
        settings: Settings,
        runtimes: dict[str, RuntimeInfo],
        sandbox: Sandbox,
        records: RecordBuffer,
    ) -> None:
        self.settings = settings
        self.runtimes = runtimes
        self.sandbox = sandbox
        self.records = records
        self._idle: dict[str, list[Instance]] = defaultdict(list)
        self._instances: set[Instance] = set()
        self._inflight: dict[str, int] = defaultdict(int)
        self._unreserved_inflight = 0
        # Versions that must not take new invocations; their busy instances stop on release.
        self._retired: set[str] = set()
        self._reaper: asyncio.Task[None] | None = None
        self.linker = CodeLinker()
        self.prestarter = Prestarter(
            runtimes,
            sandbox,
            settings.data_dir / "slots",
            settings.prestarted_per_size,
            settings.log_max_bytes_per_invocation,
            # Waiting processes cost memory as instances do: a quarter of the instance cap,
            # and at least enough for one burst of the widest size.
            max_total=max(MAX_PER_SIZE, settings.prestarted_per_size, settings.max_instances // 4),
        )

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle(), name="idle-reaper")
        self.prestarter.start()

    async def close(self) -> None:
        if self._reaper:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await self.prestarter.close()
        for instance in list(self._instances):
            instance.stop()
        self._instances.clear()
        self._idle.clear()

    @property
    def instance_count(self) -> int:
        return len(self._instances)

    def idle_count(self, key: str) -> int:
        return len(self._idle.get(key, ()))

    async def prepare(self, spec: FunctionSpec, request_id: str) -> LoadOutcome:
        """Load the version once in its runtime; on success the instance stays warm."""
        runtime = self.runtimes[spec.runtime]
        if not runtime.available:
            return LoadOutcome(
                False,
                0.0,
                {"errorType": "RuntimeUnavailable", "errorMessage": runtime.unavailable_reason or "", "stackTrace": []},
            )
        instance, outcome = await self._start_instance(spec, request_id, float(spec.timeout_seconds))
        self.records.add(outcome.logs, None)
        if outcome.ok and spec.key not in self._retired:
            self._park(instance)
        else:
            self._discard(instance)
        return outcome

    async def invoke(self, spec: FunctionSpec, request_id: str, event: bytes) -> InvocationResult:
        reserved = spec.reserved_concurrency
        if reserved == 0:
            raise FunctionPaused(
                f"function {spec.name!r} is paused (reservedConcurrency is 0); "
                "set reservedConcurrency to 1 or more, or remove it, to resume"
            )
        if reserved is not None:
            if self._inflight[spec.function_id] >= reserved:
                raise Throttled(
                    f"function {spec.name!r} is at its reservedConcurrency of {reserved}; "
                    "retry later or raise reservedConcurrency",
                    headers={"Retry-After": "1"},
                )
        elif self._unreserved_inflight >= self.settings.unreserved_concurrency:
            raise Throttled(
                f"the node runs {self.settings.unreserved_concurrency} invocations of functions "
                "without reserved concurrency already; retry later",
                headers={"Retry-After": "1"},
            )
        self._inflight[spec.function_id] += 1
        if reserved is None:
            self._unreserved_inflight += 1
        try:
            return await self._run(spec, request_id, event)
        finally:
            self._inflight[spec.function_id] -= 1
            if not self._inflight[spec.function_id]:
                del self._inflight[spec.function_id]
            if reserved is None:
                self._unreserved_inflight -= 1

    async def _run(self, spec: FunctionSpec, request_id: str, event: bytes) -> InvocationResult:
        timeout = float(spec.timeout_seconds)
        init_ms: float | None = None
        instance = self._take_idle(spec.key)
        logs: list[LogRecord] = []
        if instance is None:
            runtime = self.runtimes[spec.runtime]
            if not runtime.available:
                raise ServiceUnavailable(runtime.unavailable_reason or f"{spec.runtime} is unavailable")
            instance, loaded = await self._start_instance(spec, request_id, timeout)
            logs.extend(loaded.logs)
            init_ms = loaded.init_ms
            if not loaded.ok:
                self._discard(instance)
                error = loaded.error or {}
                outcome = (
                    Outcome.TIMEOUT
                    if error.get("errorType") == "TimeoutError"
                    else Outcome.OUT_OF_MEMORY
                    if error.get("errorType") == "OutOfMemoryError"
                    else Outcome.ERROR
                )
                result = InvocationResult(
                    request_id, outcome, orjson.dumps(error), 0.0, init_ms, None, logs
                )
                self._record(spec, result)
                return result
        done = await instance.invoke(request_id, event, timeout)
        self._release(instance)
        logs.extend(done.logs)
        result = InvocationResult(
            request_id,
            done.outcome,
            done.body,
            done.duration_ms,
            init_ms,
            done.max_memory_used_mb,
            logs,
        )
        self._record(spec, result)
        return result

    def _record(self, spec: FunctionSpec, result: InvocationResult) -> None:
        logs = result.logs
        if result.outcome is not Outcome.SUCCESS:
            logs.append(
                LogRecord(spec.function_id, result.request_id, time.time(), "system", _error_line(result.body))
            )
        report = Report(
            request_id=result.request_id,
            function_id=spec.function_id,
            version=spec.version,
            duration_ms=round(result.duration_ms, 3),
            billed_duration_ms=billed_ms(result.duration_ms),
            init_duration_ms=round(result.init_duration_ms, 3) if result.init_duration_ms else None,
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=result.max_memory_used_mb,
            outcome=result.outcome.value,
        )
        self.records.add(logs, report)
        access_log.info(
            "invoke %s %s %s %.2fms %dB",
            spec.function_id,
            result.request_id,
            result.outcome.value,
            result.duration_ms,
            len(result.body),
        )

    def record_throttle(self, spec: FunctionSpec, request_id: str) -> None:
        self.records.add(
            [],
            Report(
                request_id=request_id,
                function_id=spec.function_id,
                version=spec.version,
                duration_ms=0.0,
                billed_duration_ms=0,
                init_duration_ms=None,
                memory_size_mb=spec.memory_mb,
                max_memory_used_mb=None,
                outcome="throttled",
            ),
        )

    async def _start_instance(
        self, spec: FunctionSpec, request_id: str, timeout: float
    ) -> tuple[Instance, LoadOutcome]:
        """Start an instance of `spec` and load its handler: in a pre-started process when
        one of its runtime and memory size is ready, else in a new one."""
        if len(self._instances) >= self.settings.max_instances:
            self._evict_least_recently_used()
        started = time.perf_counter()
        instance = None
        if self.prestarter.enabled:
            entries = await self.linker.entries(spec.code_dir)
            if entries is not None and len(entries) <= MAX_LINKED_ENTRIES:
                instance = self.prestarter.take(spec.runtime, spec.memory_mb)
        if instance is not None:
            try:
                await self.linker.link(spec.code_dir, instance.code_dir, entries or [])
                instance.adopt(spec)
            except (OSError, IllegalTransition) as error:
                log.warning("could not use a pre-started instance for %s: %s", spec.key, error)
                instance.stop()
                instance = None
        if instance is not None:
            self._instances.add(instance)
            outcome = await instance.load(request_id, timeout, started)
            if outcome.ok or outcome.delivered:
                return instance, outcome
            # It died while it waited (killed from outside): none of the function's code
            # ran, so a new instance takes the call.
            log.warning("a pre-started instance for %s had exited; starting a new one", spec.key)
            self._discard(instance)
        instance = Instance(
            spec, self.runtimes[spec.runtime], self.sandbox, self.settings.log_max_bytes_per_invocation
        )
        self._instances.add(instance)
        return instance, await instance.start(request_id, timeout)

    def _evict_least_recently_used(self) -> None:
        idle = [i for instances in self._idle.values() for i in instances]
        if not idle:
            return
        oldest = min(idle, key=lambda i: i.last_used)
        self._idle[oldest.spec.key].remove(oldest)
        self._discard(oldest)

    def _take_idle(self, key: str) -> Instance | None:
        idle = self._idle.get(key)
        while idle:
            instance = idle.pop()
            if instance.state is InstanceState.IDLE:
                return instance
            self._discard(instance)
        return None

    def _park(self, instance: Instance) -> None:
        self._idle[instance.spec.key].append(instance)

    def _release(self, instance: Instance) -> None:
        if instance.state is InstanceState.IDLE and instance.spec.key not in self._retired:
            self._park(instance)
        else:
            self._discard(instance)

    def _discard(self, instance: Instance) -> None:
        instance.stop()
        self._instances.discard(instance)

    def retire(self, function_id: str, keep_key: str | None = None) -> None:
        """Stop the idle instances of a function's versions other than `keep_key`; busy ones
        finish their invocation and then stop."""
        for key in list(self._idle):
            if key.startswith(f"{function_id}:") and key != keep_key:
                self._retired.add(key)
                for instance in self._idle.pop(key):
                    self._discard(instance)
        for instance in self._instances:
            if instance.spec.function_id == function_id and instance.spec.key != keep_key:
                self._retired.add(instance.spec.key)

    async def _reap_idle(self) -> None:
        idle_seconds = self.settings.instance_idle_seconds
        interval = min(5.0, max(0.05, idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            self.prestarter.trim()
            cutoff = time.monotonic() - idle_seconds
            for key in list(self._idle):
                instances = self._idle[key]
                keep = [i for i in instances if i.last_used >= cutoff]
                for instance in instances:
                    if instance.last_used < cutoff:
                        log.debug("stopping idle instance %s", instance.id)
                        self._discard(instance)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]


def _error_line(body: bytes) -> str:
    try:
        error = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")
    lines = [f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}"]
    lines.extend(str(line) for line in error.get("stackTrace") or [])
    return "\n".join(lines)
