"""One instance: a sandboxed process running one function version, one invocation at a
time. Its lifecycle is an explicit state machine; log output arrives over the channel
(framed records) and over raw stdout/stderr pipes (anything else the process writes)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import itertools
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rocketstack.runtime.protocol import FrameDecoder, ProtocolError, encode
from rocketstack.runtime.runtimes import BOOTSTRAP_DIR, RuntimeInfo
from rocketstack.runtime.spec import FunctionSpec
from rocketstack.sandbox.base import LaunchSpec, Limits, Sandbox, SandboxedProcess
from rocketstack.store.models import LogRecord

log = logging.getLogger(__name__)

_ids = itertools.count(1)
_READ_SIZE = 65536
# The header an exchange resolves with when its timer fires first.
_TIMED_OUT: dict[str, Any] = {"t": "timeout"}
# The text V8 prints on stderr before it aborts at --max-old-space-size.
_V8_HEAP_OOM = "JavaScript heap out of memory"


class InstanceState(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    STOPPED = "stopped"


_TRANSITIONS = {
    InstanceState.STARTING: {InstanceState.IDLE, InstanceState.STOPPED},
    InstanceState.IDLE: {InstanceState.BUSY, InstanceState.STOPPED},
    InstanceState.BUSY: {InstanceState.IDLE, InstanceState.STOPPED},
    InstanceState.STOPPED: {InstanceState.STOPPED},
}


class IllegalTransition(RuntimeError):
    pass


class Outcome(enum.Enum):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "outOfMemory"


@dataclass
class InvocationOutcome:
    outcome: Outcome
    # JSON bytes: the handler's return value on success, else an error body
    # {"errorType", "errorMessage", "stackTrace"}.
    body: bytes
    duration_ms: float
    logs: list[LogRecord]
    max_memory_used_mb: int | None


@dataclass
class LoadOutcome:
    ok: bool
    init_ms: float
    error: dict[str, Any] | None
    logs: list[LogRecord] = field(default_factory=list)
    # False when the instance had exited before it could receive the load message, so
    # that no code of the function ran: another instance can safely try again.
    delivered: bool = True


class LogCollector:
    """The log records of one invocation, capped in bytes with a truncation marker."""

    def __init__(self, function_id: str, request_id: str, max_bytes: int) -> None:
        self.function_id = function_id
        self.request_id = request_id
        self.max_bytes = max_bytes
        self.records: list[LogRecord] = []
        self.size = 0
        self.truncated = False

    def add(self, stream: str, message: str) -> None:
        if self.truncated:
            return
        self.size += len(message)
        if self.size > self.max_bytes:
            self.truncated = True
            message = (
                f"[rocketstack] log output truncated: this invocation wrote more than "
                f"{self.max_bytes} bytes"
            )
            stream = "system"
        self.records.append(LogRecord(self.function_id, self.request_id, time.time(), stream, message))


class Instance:
    def __init__(
        self,
        spec: FunctionSpec,
        runtime: RuntimeInfo,
        sandbox: Sandbox,
        log_max_bytes: int,
        slot: Path | None = None,
    ) -> None:
        self.id = f"i{os.getpid()}-{next(_ids)}"
        self.spec = spec
        self.runtime = runtime
        self.sandbox = sandbox
        self.log_max_bytes = log_max_bytes
        self.state = InstanceState.STARTING
        self.last_used = time.monotonic()
        self.invocations = 0
        self.process: SandboxedProcess | None = None
        self._decoder = FrameDecoder()
        self._control_fd = -1
        self._send_fd = -1
        self._stream_fds: dict[int, str] = {}
        self._partial: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._collector = LogCollector(spec.function_id, "", log_max_bytes)
        self._waiter: asyncio.Future[tuple[dict[str, Any], bytes]] | None = None
        self._exit_task: asyncio.Task[None] | None = None
        self.exit_status: int | None = None
        # The directory bound as the instance's code. A pre-started instance gets a slot:
        # an empty directory of its own, filled with its function's files before `adopt`,
        # and removed when the instance stops.
        self.code_dir = slot or spec.code_dir
        self._owns_code_dir = slot is not None

    def __repr__(self) -> str:
        return f"<Instance {self.id} {self.spec.key} {self.state.value}>"

    def _transition(self, new: InstanceState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"instance {self.id} cannot go from {self.state.value} to {new.value}"
            )
        self.state = new

    async def start(self, request_id: str, timeout: float) -> LoadOutcome:
        """Spawn the process and load the handler; on failure the instance is stopped."""
        started = time.perf_counter()
        failure = await self.spawn()
        if failure is not None:
            return failure
        return await self.load(request_id, timeout, started)

    async def spawn(self, background: bool = False) -> LoadOutcome | None:
        """Start the process, which then waits for its load message; return the failure
        when it cannot start (the instance is stopped then). A `background` process runs
        under SCHED_IDLE until `adopt`."""
        try:
            await self._spawn(background)
        except OSError as error:
            self.stop()
            log.error("failed to start an instance of %s: %s", self.spec.key, error)
            return LoadOutcome(
                False,
                0.0,
                {
                    "errorType": "InstanceStartError",
                    "errorMessage": f"the {self.spec.runtime} runtime failed to start: {error}",
                    "stackTrace": [],
                },
            )
        if not background:
            self._batch_schedule()
        return None

    def _batch_schedule(self) -> None:
        """Put the instance's process under SCHED_BATCH. Without it, each invocation's wake-up
        of the instance preempts the server's event loop in the middle of its batch of ready
        requests (one measurement at 32 connections on 2 cores: half the throughput). The
        Python bootstrap also sets it for itself, for sandboxes whose direct child is a
        launcher."""
        if self.process is None or self.state is InstanceState.STOPPED:
            return
        # Every process of the instance: one started in the background may have forked
        # its runtime under SCHED_IDLE already.
        for pid in self.process.pids():
            with contextlib.suppress(OSError):
                os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0))

    @property
    def alive(self) -> bool:
        return self.state is InstanceState.STARTING and self.exit_status is None and self.process is not None

    def adopt(self, spec: FunctionSpec) -> None:
        """Give a pre-started instance its function; its code directory must hold the
        function's files already."""
        if not self.alive:
            raise IllegalTransition(f"instance {self.id} is {self.state.value} and cannot adopt a function")
        self.spec = spec
        self._collector = LogCollector(spec.function_id, "", self.log_max_bytes)
        self._batch_schedule()

    async def load(self, request_id: str, timeout: float, started: float | None = None) -> LoadOutcome:
        """Load the handler into the started process; on failure the instance is stopped."""
        if started is None:
            started = time.perf_counter()
        leftover = self._collector.records
        self._collector = LogCollector(self.spec.function_id, request_id, self.log_max_bytes)
        self._collector.records.extend(leftover)
        code_path = str(self.sandbox.code_path(self.code_dir))
        env = self.spec.instance_env()
        env["ROCKETSTACK_TASK_ROOT"] = env["LAMBDA_TASK_ROOT"] = code_path
        load = {
            "t": "load",
            "codeDir": code_path,
            "handler": self.spec.handler,
            "functionName": self.spec.name,
            "version": self.spec.version,
            "memoryMb": self.spec.memory_mb,
            "env": env,
        }
        header, payload = await self._exchange(load, b"", timeout)
        init_ms = (time.perf_counter() - started) * 1000
        kind = header.get("t")
        if kind == "loaded":
            self._transition(InstanceState.IDLE)
            return LoadOutcome(True, init_ms, None, self._take_logs())
        if kind == "loadError":
            error = orjson.loads(payload)
        else:
            error = self._failure_body(kind, header, timeout, during="initialisation")
        logs = self._take_logs()
        self.stop()
        return LoadOutcome(False, init_ms, error, logs, delivered=not header.get("undelivered"))

    async def invoke(self, request_id: str, event: bytes, timeout: float) -> InvocationOutcome:
        self._transition(InstanceState.BUSY)
        self.invocations += 1
        # Output written between invocations (timers, background threads) keeps the request
        # id of the invocation before it and is stored with this one's records.
        leftover = self._collector.records
        self._collector = LogCollector(self.spec.function_id, request_id, self.log_max_bytes)
        self._collector.records.extend(leftover)
        started = time.perf_counter()
        deadline_ms = int((time.time() + timeout) * 1000)
        header, payload = await self._exchange(
            {"t": "invoke", "id": request_id, "deadlineMs": deadline_ms}, event, timeout
        )
        duration_ms = (time.perf_counter() - started) * 1000
        kind = header.get("t")
        # The sandbox's measure (the cgroup's peak: every process of the instance and its
        # /tmp) wins over the peak resident set that the bootstrap sends, which counts one
        # process only and which the handler's code could change.
        memory = self.process.max_memory_used_mb() if self.process else None
        peak_kb = header.get("maxRssKb")
        if memory is None and isinstance(peak_kb, int):
            memory = (peak_kb + 1023) // 1024
        if kind == "result":
            outcome, body = Outcome.SUCCESS, payload
        elif kind == "error":
            outcome, body = Outcome.ERROR, _bounded_error(payload)
        else:
            error = self._failure_body(kind, header, timeout, during="the invocation")
            outcome = {
                "timeout": Outcome.TIMEOUT,
                "outOfMemory": Outcome.OUT_OF_MEMORY,
            }.get(str(kind), Outcome.ERROR)
            body = orjson.dumps(error)
        logs = self._take_logs()
        self.last_used = time.monotonic()
        if kind in ("result", "error") and self.state is InstanceState.BUSY:
            self._transition(InstanceState.IDLE)
        else:
            self.stop()
        return InvocationOutcome(outcome, body, duration_ms, logs, memory)

    def _failure_body(
        self, kind: Any, header: dict[str, Any], timeout: float, during: str
    ) -> dict[str, Any]:
        if kind == "timeout":
            return {
                "errorType": "TimeoutError",
                "errorMessage": f"{during.capitalize()} timed out after {_seconds(timeout)} s",
                "stackTrace": [],
            }
        if kind == "outOfMemory":
            return {
                "errorType": "OutOfMemoryError",
                "errorMessage": (
                    f"the instance ran out of memory during {during}: it reached the "
                    f"{self.spec.memory_mb} MB limit; raise memoryMb or use less memory"
                ),
                "stackTrace": [],
            }
        if kind == "protocolError":
            return {
                "errorType": "ProtocolError",
                "errorMessage": (
                    f"the instance wrote invalid data to the runtime's channel during {during} "
                    f"({header.get('reason')}); do not write to the runtime's file descriptors"
                ),
                "stackTrace": [],
            }
        status = header.get("status")
        return {
            "errorType": "ProcessExited",
            "errorMessage": f"the process exited during {during} with {_describe_status(status)}",
            "stackTrace": [],
        }

    async def _spawn(self, background: bool = False) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        child_fds = [to_child_r, from_child_w, out_w, err_w]
        try:
            argv = self.runtime.argv(to_child_r, from_child_w, self.spec.memory_mb)
            launch = LaunchSpec(
                instance_id=self.id,
                argv=argv,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"},
                code_dir=self.code_dir,
                limits=instance_limits(self.spec.memory_mb),
                fds={1: out_w, 2: err_w, to_child_r: to_child_r, from_child_w: from_child_w},
                runtime_paths=runtime_paths(self.runtime),
                zygote_argv=self.runtime.zygote_argv(),
                zygote_exec=not self.runtime.forks_from_zygote,
                background=background,
            )
            self.process = await self.sandbox.spawn(launch)
        except BaseException:
            for fd in (to_child_w, from_child_r, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in child_fds:
                os.close(fd)
        loop = asyncio.get_running_loop()
        self._send_fd = to_child_w
        self._control_fd = from_child_r
        self._stream_fds = {out_r: "stdout", err_r: "stderr"}
        for fd in (to_child_w, from_child_r, out_r, err_r):
            os.set_blocking(fd, False)
        loop.add_reader(from_child_r, self._on_control)
        for fd in self._stream_fds:
            loop.add_reader(fd, self._on_stream, fd)
        self._exit_task = asyncio.create_task(self._watch_exit(), name=f"watch-{self.id}")

    async def _exchange(
        self, header: dict[str, Any], payload: bytes, timeout: float
    ) -> tuple[dict[str, Any], bytes]:
        """Send one message and wait for the instance's reply, a timeout, or its exit."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        if self.exit_status is not None:
            return {"t": "exited", "status": self.exit_status, "undelivered": True}, b""
        undelivered = False
        try:
            await self._write(encode(header, payload))
        except OSError:
            # The instance closed its end: it is exiting, and _watch_exit reports how.
            undelivered = True
        # A plain timer on the loop: asyncio.wait_for costs a task and several callbacks
        # per call, a measurable share of a warm invocation.
        timer = loop.call_later(timeout, self._resolve, _TIMED_OUT, b"")
        try:
            answer = await waiter
        finally:
            timer.cancel()
            self._waiter = None
        if answer[0] is _TIMED_OUT:
            self.stop()
        if undelivered:
            answer = ({**answer[0], "undelivered": True}, answer[1])
        return answer

    async def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._send_fd, data)
        except BlockingIOError:
            written = 0
        if written == len(data):
            return
        view = memoryview(data)[written:]
        loop = asyncio.get_running_loop()
        while view:
            try:
                written = os.write(self._send_fd, view)
                view = view[written:]
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self._send_fd, lambda: ready.done() or ready.set_result(None))
                try:
                    await ready
                finally:
                    loop.remove_writer(self._send_fd)

    def _resolve(self, header: dict[str, Any], payload: bytes) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((header, payload))

    def _on_control(self) -> None:
        while self._control_fd >= 0:
            try:
                data = os.read(self._control_fd, _READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                asyncio.get_running_loop().remove_reader(self._control_fd)
                return
            self._on_frames(data)

    def _on_frames(self, data: bytes) -> None:
        try:
            self._handle_frames(data)
        except ProtocolError as error:
            log.warning("instance %s of %s broke the channel protocol: %s", self.id, self.spec.key, error)
            self._resolve({"t": "protocolError", "reason": str(error)}, b"")
            self.stop()

    def _handle_frames(self, data: bytes) -> None:
        for header, payload in self._decoder.feed(data):
            kind = header.get("t")
            if kind == "log":
                self._collector.add(
                    "stderr" if header.get("s") == "stderr" else "stdout",
                    payload.decode("utf-8", "replace"),
                )
            else:
                self._drain_streams()
                self._resolve(header, payload)

    def _on_stream(self, fd: int) -> None:
        self._read_stream(fd)

    def _read_stream(self, fd: int) -> bool:
        """Read what is buffered on one stdout/stderr pipe; return False at end of file."""
        stream = self._stream_fds.get(fd)
        if stream is None:
            return False
        partial = self._partial[stream]
        while True:
            try:
                data = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                return True
            except OSError as error:
                if error.errno != errno.EAGAIN:
                    data = b""
                else:
                    return True
            if not data:
                asyncio.get_running_loop().remove_reader(fd)
                self._stream_fds.pop(fd, None)
                os.close(fd)
                self._flush_partial(stream)
                return False
            partial += data
            if b"\n" in partial:
                *lines, rest = bytes(partial).split(b"\n")
                partial[:] = rest
                for line in lines:
                    self._collector.add(stream, line.decode("utf-8", "replace"))
            if len(partial) > _READ_SIZE:
                self._flush_partial(stream)

    def _flush_partial(self, stream: str) -> None:
        partial = self._partial[stream]
        if partial:
            self._collector.add(stream, partial.decode("utf-8", "replace"))
            partial.clear()

    def _drain_streams(self) -> None:
        """Collect what the process wrote to stdout/stderr before its last message: those
        writes finished before the message was sent, so they are in the pipes already."""
        for fd in list(self._stream_fds):
            self._read_stream(fd)
        for stream in self._partial:
            self._flush_partial(stream)

    def _take_logs(self) -> list[LogRecord]:
        records = self._collector.records
        self._collector = LogCollector(self.spec.function_id, self._collector.request_id, self.log_max_bytes)
        return records

    async def _watch_exit(self) -> None:
        assert self.process is not None
        status = await self.process.wait()
        self.exit_status = status
        # Frames sent just before the exit may still be unread: a result wins over the exit.
        self._on_control()
        self._drain_streams()
        if self.process.out_of_memory() or self._heap_exhausted():
            self._resolve({"t": "outOfMemory"}, b"")
        else:
            self._resolve({"t": "exited", "status": status}, b"")
        if self.state is not InstanceState.STOPPED:
            self.stop()

    def _heap_exhausted(self) -> bool:
        """Return True when V8 aborted the process at its heap limit, which the Node
        runtime sets below memoryMb so that garbage is collected before the hard limit."""
        return any(
            record.stream == "stderr" and _V8_HEAP_OOM in record.message
            for record in self._collector.records[-20:]
        )

    def stop(self) -> None:
        """Kill the instance and everything it started, and close its pipes."""
        if self.state is InstanceState.STOPPED and self._send_fd < 0:
            return
        self.state = InstanceState.STOPPED
        if self.process is not None:
            self.process.kill()
        loop = asyncio.get_event_loop()
        if self._control_fd >= 0:
            loop.remove_reader(self._control_fd)
            os.close(self._control_fd)
            self._control_fd = -1
        if self._send_fd >= 0:
            os.close(self._send_fd)
            self._send_fd = -1
        for fd in list(self._stream_fds):
            self._read_stream(fd)
            if fd in self._stream_fds:
                loop.remove_reader(fd)
                os.close(fd)
        self._stream_fds.clear()
        if self._exit_task is not None and self.process is not None:
            process = self.process
            task = self._exit_task
            task.add_done_callback(lambda _task: process.release())
            if task.done():
                process.release()
        if self._owns_code_dir:
            self._owns_code_dir = False
            shutil.rmtree(self.code_dir, ignore_errors=True)


def instance_limits(memory_mb: int) -> Limits:
    """Return the limits of an instance: /tmp gets a quarter of the memory, up to 512 MiB,
    because its pages count against memoryMb."""
    return Limits(memory_mb=memory_mb, tmp_mb=max(16, min(512, memory_mb // 4)))


def runtime_paths(runtime: RuntimeInfo) -> tuple[Path, ...]:
    """Return the directories a runtime reads: its installation (the parent of its `bin`
    folder) and the bootstrap folder."""
    assert runtime.executable is not None, "runtime_paths() needs an available runtime"
    executable = Path(runtime.executable)
    install = executable.parent.parent if executable.parent.name == "bin" else executable.parent
    return (install, BOOTSTRAP_DIR)


# The largest error body kept from an instance. The bootstraps cut long messages already;
# this bounds what a handler writing frames of its own can make the platform store.
MAX_ERROR_BODY = 256 * 1024


def _bounded_error(payload: bytes) -> bytes:
    if len(payload) <= MAX_ERROR_BODY:
        return payload
    return orjson.dumps(
        {
            "errorType": "ErrorTooLarge",
            "errorMessage": f"the handler's error was {len(payload)} bytes; the first part was: "
            + payload[:4096].decode("utf-8", "replace"),
            "stackTrace": [],
        }
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _describe_status(status: Any) -> str:
    if not isinstance(status, int):
        return "an unknown status"
    if status < 0:
        import signal

        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"signal {name}"
    return f"exit status {status}"
