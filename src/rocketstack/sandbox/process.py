"""The `process` backend: a plain child process in its own session, with rlimits and, where
the host has them, cgroup v1 memory and pids limits. No namespaces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import subprocess
from collections.abc import Callable

from rocketstack.sandbox.base import LaunchSpec, Sandbox, SandboxedProcess
from rocketstack.sandbox.cgroups import CgroupV1, InstanceGroup

log = logging.getLogger(__name__)


class ProcessSandbox(Sandbox):
    name = "process"

    def __init__(self) -> None:
        super().__init__()
        self.cgroups = CgroupV1()
        if not self.cgroups.available:
            self.warnings.append(
                "cgroup v1 memory/pids controllers are not writable: memory limits fall back "
                "to polling and process limits to RLIMIT_NPROC"
            )

    async def spawn(self, spec: LaunchSpec) -> SandboxedProcess:
        group = None
        if self.cgroups.available:
            group = self.cgroups.create(
                spec.instance_id, spec.limits.memory_mb, spec.limits.max_processes
            )
        process = subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=spec.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=spec.fds[1],
            stderr=spec.fds[2],
            pass_fds=[fd for number, fd in spec.fds.items() if number > 2],
            start_new_session=True,
            close_fds=True,
        )
        child = LocalProcess(process, group)
        try:
            if group is not None:
                group.add(process.pid)
            _apply_rlimits(process.pid, spec)
        except OSError:
            child.kill()
            child.release()
            raise
        return child


def _apply_rlimits(pid: int, spec: LaunchSpec) -> None:
    limits = spec.limits
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    size = limits.file_size_mb * 1024 * 1024
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, size))


class GroupedProcess(SandboxedProcess):
    """An instance whose processes are in a cgroup, when the host has one, and that is
    followed through a pidfd: what the backends' processes have in common."""

    def __init__(
        self,
        pid: int,
        pidfd: int,
        group: InstanceGroup | None,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        self.pid = pid
        self.group = group
        self._pidfd = pidfd
        self._on_release = on_release
        self._final_peak_mb: int | None = None

    def max_memory_used_mb(self) -> int | None:
        if self._final_peak_mb is not None:
            return self._final_peak_mb
        return self.group.peak_mb() if self.group is not None else None

    def out_of_memory(self) -> bool:
        return self.group is not None and self.group.oom_killed()

    def pids(self) -> list[int]:
        return self.group.procs() if self.group is not None else [self.pid]

    def release(self) -> None:
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        if self.group is not None:
            self.group.kill_all()
            # Kept for a report that is written after the group is gone.
            self._final_peak_mb = self.group.peak_mb()
            self.group.remove()
            self.group = None
        if self._on_release is not None:
            callback, self._on_release = self._on_release, None
            callback()


class LocalProcess(GroupedProcess):
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        group: InstanceGroup | None,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(process.pid, os.pidfd_open(process.pid), group, on_release)
        self.process = process
        self._killed = False
        self._returncode: int | None = None

    async def wait(self) -> int:
        if self._returncode is not None:
            return self._returncode
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        fd = self._pidfd
        loop.add_reader(fd, lambda: done.done() or done.set_result(None))
        try:
            await done
        finally:
            loop.remove_reader(fd)
        self._returncode = self.process.wait()
        return self._returncode

    def kill(self) -> None:
        # One pass only: waiting here for the processes to exit would stall the event loop
        # for milliseconds. `release` runs after the exit and kills any process left.
        if self.group is not None:
            self.group.signal_all()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self._killed = True

    def max_memory_used_mb(self) -> int | None:
        peak = super().max_memory_used_mb()
        if peak is not None or self.group is not None:
            return peak
        # Without cgroups: the peak resident set of the main process.
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return (int(line.split()[1]) + 1023) // 1024
        except OSError:
            return None
        return None
