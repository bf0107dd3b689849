"""The `namespace` backend. Each instance is a child in its own PID, mount, IPC and UTS
namespaces, and in its own network namespace under the "none" policy. Its read-only root
contains only the system's programs and libraries, the runtime, the bootstrap and the
function's own code. It gets a private /tmp, its own unprivileged user, cgroup v1 limits,
rlimits and a seccomp filter. No helper process stays behind: the child becomes PID 1 of
its namespace and then execs the runtime, so killing it kills everything it started."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import os
import resource
import secrets
import subprocess
from pathlib import Path

from rocketstack.sandbox import linux
from rocketstack.sandbox.base import LaunchSpec, Sandbox, SandboxedProcess
from rocketstack.sandbox.cgroups import CgroupV1
from rocketstack.sandbox.confine import Confinement, confine, encode_plan
from rocketstack.sandbox.process import LocalProcess
from rocketstack.sandbox.zygote import ForkedProcess, Zygote, ZygoteUnavailable

log = logging.getLogger(__name__)

# Instances run as uids UID_BASE .. UID_BASE + UID_COUNT - 1, one per running instance, so
# per-user limits (RLIMIT_NPROC) and file ownership never mix two instances of one server.
# NOTE: two servers on one host draw from the same range, so their instances may share a
# uid and with it the RLIMIT_NPROC count; namespaces still keep them apart, and a spawn
# that hits the shared count retries with another uid.
UID_BASE = 200_000
UID_COUNT = 60_000
TINI = "/usr/bin/tini"
_SPAWN_ATTEMPTS = 3
# The path of the function's code inside an instance, as on AWS Lambda, so handlers never
# depend on where the host stores code.
TASK_ROOT = "/var/task"

# Host directories every runtime needs, bound read-only when they are real directories and
# recreated as symlinks when the host links them into /usr.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/ca-certificates",
    "/etc/protocols",
    "/etc/services",
    "/etc/mime.types",
)


class NamespaceSandbox(Sandbox):
    name = "namespace"

    def __init__(self, state_dir: Path, network_policy: str = "none") -> None:
        super().__init__()
        self.network_policy = network_policy
        self.staging = state_dir / "root"
        self.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.cgroups = CgroupV1()
        if not self.cgroups.available:
            self.warnings.append(
                "cgroup v1 memory/pids controllers are not writable: memory limits fall back "
                "to the kernel's overcommit and process limits to RLIMIT_NPROC"
            )
        self.seccomp: bytes | None = None
        try:
            from rocketstack.sandbox.seccomp import build_filter

            self.seccomp = build_filter()
        except (ImportError, OSError, RuntimeError) as error:
            self.warnings.append(
                f"seccomp filter unavailable ({error}): instances may call ptrace, bpf, "
                "io_uring and the other calls it would deny"
            )
        # The instance's first process is PID 1 of its namespace, which must reap the
        # orphans its handler leaves and pass on signals, so tini runs there when present.
        self._init_argv: tuple[str, ...] = ()
        if os.path.isfile(TINI) and os.access(TINI, os.X_OK):
            self._init_argv = (TINI, "--")
        else:
            self.warnings.append(
                f"{TINI} is missing: orphaned processes of an instance stay zombies and count "
                "against its process limit until it stops; install Debian's tini"
            )
        self._own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        # Oldest-released uid first, from a random start, so a uid comes back only after
        # every other one was used: processes of a just-stopped instance, or of another
        # server on this host, rarely share it.
        start = secrets.randbelow(UID_COUNT)
        uids = list(range(UID_BASE, UID_BASE + UID_COUNT))
        self._free_uids = collections.deque(uids[start:] + uids[:start])
        self._etc_files = _etc_files()
        self._zygotes: dict[tuple[str, ...], Zygote] = {}

    def code_path(self, code_dir: Path) -> Path:
        return Path(TASK_ROOT)

    def close(self) -> None:
        for zygote in self._zygotes.values():
            zygote.close()
        self._zygotes.clear()
        with contextlib.suppress(OSError):
            os.close(self._own_pid_ns)

    def plan(
        self, spec: LaunchSpec, uid: int, cgroup_procs: tuple[str, ...], error_fd: int
    ) -> Confinement:
        """Return the confinement of one instance, for `confine` in its forked child."""
        limits = spec.limits
        unshare = linux.CLONE_NEWNS | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS
        if self.network_policy == "none":
            unshare |= linux.CLONE_NEWNET

        binds: list[tuple[str, str]] = []
        symlinks: list[tuple[str, str]] = []
        for path in _SYSTEM_DIRS:
            if os.path.islink(path):
                symlinks.append((path, os.readlink(path)))
            elif os.path.isdir(path):
                binds.append((path, path))
        for path in _SYSTEM_FILES:
            if os.path.exists(path):
                binds.append((os.path.realpath(path), path))
        if self.network_policy == "outbound" and os.path.exists("/etc/resolv.conf"):
            binds.append((os.path.realpath("/etc/resolv.conf"), "/etc/resolv.conf"))
        for runtime_path in map(str, spec.runtime_paths):
            if not _covered(runtime_path, binds):
                binds.append((runtime_path, runtime_path))
        binds.append((str(spec.code_dir), TASK_ROOT))

        files = list(self._etc_files)
        files.append(("/etc/passwd", f"root:x:0:0::/:/usr/sbin/nologin\nsbx:x:{uid}:{uid}::/tmp:/usr/sbin/nologin\n".encode()))
        files.append(("/etc/group", f"root:x:0:\nsbx:x:{uid}:\n".encode()))
        file_size = limits.file_size_mb * 1024 * 1024
        return Confinement(
            staging=str(self.staging),
            uid=uid,
            gid=uid,
            cgroup_procs=cgroup_procs,
            unshare_flags=unshare,
            binds=tuple(binds),
            symlinks=tuple(symlinks),
            files=tuple(files),
            tmp_mb=limits.tmp_mb,
            workdir=TASK_ROOT,
            rlimits=(
                (resource.RLIMIT_CORE, 0),
                (resource.RLIMIT_NOFILE, limits.open_files),
                (resource.RLIMIT_FSIZE, file_size),
                (resource.RLIMIT_NPROC, limits.max_processes),
            ),
            loopback_up=self.network_policy == "none",
            seccomp=self.seccomp,
            error_fd=error_fd,
            idle_priority=spec.background,
        )

    async def spawn(self, spec: LaunchSpec) -> SandboxedProcess:
        for attempt in range(_SPAWN_ATTEMPTS):
            uid = self._take_uid()
            try:
                zygote = self._zygote(spec.zygote_argv)
                if zygote is not None:
                    try:
                        return await self._fork_as(spec, uid, zygote)
                    except ZygoteUnavailable as error:
                        # The zygote is replaced at the next start; this one is executed.
                        log.warning("zygote unavailable for instance %s, executing it: %s", spec.instance_id, error)
                        uid = self._take_uid()
                # In a worker thread: the parent waits for the child's whole confinement
                # and exec (about 20 ms), which would otherwise stall every request.
                return await asyncio.to_thread(self._spawn_as, spec, uid)
            except OSError as error:
                # execve fails with EAGAIN when processes left under this uid (by another
                # server, or zombies not yet reaped) reach RLIMIT_NPROC: try another uid.
                if error.errno != errno.EAGAIN or attempt == _SPAWN_ATTEMPTS - 1:
                    raise
                log.warning("uid busy for instance %s, retrying with another: %s", spec.instance_id, error)
        raise AssertionError("unreachable")

    def _zygote(self, argv: tuple[str, ...]) -> Zygote | None:
        """Return the running zygote for `argv`, starting it the first time; None when
        there is none or it cannot start (the instance is then executed)."""
        if not argv:
            return None
        zygote = self._zygotes.get(argv)
        if zygote is None:
            zygote = self._zygotes[argv] = Zygote(list(argv))
        if not zygote.running:
            try:
                zygote.close()
                zygote.start()
            except OSError as error:
                log.warning("starting the zygote %s failed, so instances are executed instead: %s", argv[-1], error)
                return None
        return zygote

    async def _fork_as(self, spec: LaunchSpec, uid: int, zygote: Zygote) -> SandboxedProcess:
        """Have `zygote` fork the instance and confine it with the plan of an executed one."""
        group = None
        error_r, error_w = os.pipe2(os.O_CLOEXEC)
        numbers = sorted(spec.fds)
        try:
            if self.cgroups.available:
                group = self.cgroups.create(
                    spec.instance_id, spec.limits.memory_mb, spec.limits.max_processes
                )
            procs = group.procs_files() if group is not None else ()
            plan = self.plan(spec, uid, procs, -1)
            request = {
                "plan": encode_plan(plan),
                "argv": [*self._init_argv, *spec.argv] if spec.zygote_exec else spec.argv,
                "env": spec.env,
                "fds": numbers,
                "exec": spec.zygote_exec,
            }
            fds = [spec.fds[number] for number in numbers] + [error_w]
            pid, pidfd = await zygote.fork(request, fds)
            os.close(error_w)
            error_w = -1
            # The child closes its copy of the pipe when it is confined and its runtime
            # started (or executed), or writes why it failed and exits.
            reason = await _read_to_end(error_r)
        except BaseException as error:
            if error_w >= 0:
                os.close(error_w)
            os.close(error_r)
            if group is not None:
                group.kill_all()
                group.remove()
            if not (isinstance(error, OSError) and error.errno == errno.EAGAIN):
                self._free_uids.append(uid)
            raise
        os.close(error_r)
        process = ForkedProcess(zygote, pid, pidfd, group, on_release=lambda: self._free_uids.append(uid))
        if reason:
            process.kill()
            process.release()
            zygote.forget(pid)
            busy = "Resource temporarily unavailable" in reason
            raise OSError(errno.EAGAIN if busy else errno.EPERM, f"sandbox setup failed at {reason}")
        return process

    def _take_uid(self) -> int:
        if not self._free_uids:
            raise OSError(errno.EMFILE, "no free sandbox user ids; stop idle instances")
        return self._free_uids.popleft()

    def _spawn_as(self, spec: LaunchSpec, uid: int) -> SandboxedProcess:
        group = None
        error_r, error_w = os.pipe2(os.O_CLOEXEC)
        try:
            if self.cgroups.available:
                group = self.cgroups.create(
                    spec.instance_id, spec.limits.memory_mb, spec.limits.max_processes
                )
            procs = group.procs_files() if group is not None else ()
            plan = self.plan(spec, uid, procs, error_w)
            process = self._start(spec, plan)
        except BaseException as error:
            os.close(error_w)
            reason = _read_all(error_r)
            os.close(error_r)
            if group is not None:
                group.kill_all()
                group.remove()
            if not (isinstance(error, OSError) and error.errno == errno.EAGAIN):
                self._free_uids.append(uid)
            if reason:
                raise OSError(errno.EPERM, f"sandbox setup failed at {reason}") from error
            if isinstance(error, subprocess.SubprocessError):
                raise OSError(errno.EPERM, f"sandbox setup failed: {error}") from error
            raise
        os.close(error_w)
        os.close(error_r)
        return LocalProcess(process, group, on_release=lambda: self._free_uids.append(uid))

    def _start(self, spec: LaunchSpec, plan: Confinement) -> subprocess.Popen[bytes]:
        # The new PID namespace applies to the next child of this thread only. The thread
        # returns to its own namespace right after, so other spawns and threads keep theirs.
        linux.unshare(linux.CLONE_NEWPID)
        try:
            return subprocess.Popen(
                [*self._init_argv, *spec.argv],
                env=spec.env,
                stdin=subprocess.DEVNULL,
                stdout=spec.fds[1],
                stderr=spec.fds[2],
                # The error pipe is not passed: it stays open through `confine` and closes
                # at exec, with every other descriptor the runtime is not given.
                pass_fds=[fd for number, fd in spec.fds.items() if number > 2],
                start_new_session=True,
                close_fds=True,
                preexec_fn=lambda: confine(plan),  # noqa: PLW1509 - the child only makes system calls
            )
        finally:
            linux.setns(self._own_pid_ns, linux.CLONE_NEWPID)


def probe(state_dir: Path) -> str | None:
    """Start `true` in a full sandbox once; return why that failed, or None."""
    sandbox = NamespaceSandbox(state_dir, "none")
    true = "/usr/bin/true" if os.path.exists("/usr/bin/true") else "/bin/true"
    code_dir = state_dir / "probe"
    code_dir.mkdir(exist_ok=True, mode=0o755)
    error_r, error_w = os.pipe2(os.O_CLOEXEC)
    try:
        spec = LaunchSpec("probe", [true], {}, code_dir, _probe_limits(), fds={1: 1, 2: 2})
        plan = sandbox.plan(spec, UID_BASE + UID_COUNT, (), error_w)
        process = sandbox._start(spec, plan)
        status = process.wait(10)
    except (OSError, subprocess.SubprocessError) as error:
        os.close(error_w)
        return _read_all(error_r) or str(error)
    finally:
        sandbox.close()
        with contextlib.suppress(OSError):
            os.close(error_w)
    reason = _read_all(error_r)
    os.close(error_r)
    if status != 0:
        return reason or f"a probe instance exited with status {status}"
    return None


def _probe_limits():  # type: ignore[no-untyped-def]
    from rocketstack.sandbox.base import Limits

    return Limits(memory_mb=64)


def _covered(path: str, binds: list[tuple[str, str]]) -> bool:
    return any(path == target or path.startswith(target.rstrip("/") + "/") for _, target in binds)


async def _read_to_end(fd: int, seconds: float = 30.0) -> str:
    """Read a pipe until every writer closed it, without blocking the event loop."""
    os.set_blocking(fd, False)
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    done = loop.create_future()

    def on_readable() -> None:
        try:
            while chunk := os.read(fd, 4096):
                chunks.append(chunk)
        except BlockingIOError:
            return
        except OSError:
            pass
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await asyncio.wait_for(done, seconds)
    except asyncio.TimeoutError:
        return "a confinement step did not finish in time"
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _read_all(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def _etc_files() -> list[tuple[str, bytes]]:
    return [
        ("/etc/hostname", b"rocketstack\n"),
        ("/etc/hosts", b"127.0.0.1 localhost rocketstack\n::1 localhost ip6-localhost\n"),
    ]
