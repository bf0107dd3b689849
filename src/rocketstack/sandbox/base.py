"""The interface every sandbox backend implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    # Processes and threads together: the pids controller and RLIMIT_NPROC count both, and
    # Node alone runs about a dozen threads.
    max_processes: int = 256
    open_files: int = 1024
    # Largest file an instance may write, in MiB.
    file_size_mb: int = 512
    # Size of the instance's private /tmp, in MiB; it counts against memory_mb.
    tmp_mb: int = 64


@dataclass(frozen=True)
class LaunchSpec:
    instance_id: str
    argv: list[str]
    env: dict[str, str]
    code_dir: Path
    limits: Limits
    # Child fd number -> parent fd to place there (the host-instance channel and the
    # stdout/stderr pipes).
    fds: dict[int, int] = field(default_factory=dict)
    # Read-only paths the runtime itself needs (interpreter, bootstrap).
    runtime_paths: tuple[Path, ...] = ()
    # The command of a zygote that can fork this instance instead of executing `argv`
    # (see runtime/bootstrap/python_zygote.py); empty when the runtime has none. Backends
    # that cannot use one execute `argv`.
    zygote_argv: tuple[str, ...] = ()
    # True when the zygote executes `argv` in its confined fork instead of running the
    # runtime itself.
    zygote_exec: bool = False
    # Start under SCHED_IDLE: a process started ahead of need boots only on CPU time that
    # nothing else wants. Backends without a confinement step ignore it.
    background: bool = False


class SandboxedProcess(abc.ABC):
    """One launched instance process and everything it starts."""

    pid: int

    @abc.abstractmethod
    async def wait(self) -> int:
        """Wait for the instance's main process to exit; return its exit status
        (negative for a signal, as in `subprocess`)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Kill the instance and every process it started. Safe to call twice."""

    @abc.abstractmethod
    def max_memory_used_mb(self) -> int | None:
        """Return the peak memory of the instance so far, in MiB, or None if unknown."""

    @abc.abstractmethod
    def out_of_memory(self) -> bool:
        """Return True when the kernel killed a process of the instance for memory."""

    def pids(self) -> list[int]:
        """Return the instance's processes, as far as the backend can tell."""
        return [self.pid]

    @abc.abstractmethod
    def release(self) -> None:
        """Free what the backend holds for the instance, after it exited."""


class Sandbox(abc.ABC):
    """A backend that starts instances confined by one mechanism."""

    name: str = "abstract"

    def __init__(self) -> None:
        # One line per mechanism this host lacks, printed once at start.
        self.warnings: list[str] = []

    def code_path(self, code_dir: Path) -> Path:
        """Return the path at which an instance finds the code that is at `code_dir` on the host."""
        return code_dir

    def close(self) -> None:
        """Stop what the backend runs for itself; instances are stopped before."""

    @abc.abstractmethod
    async def spawn(self, spec: LaunchSpec) -> SandboxedProcess:
        """Start `spec.argv` confined by this backend."""
