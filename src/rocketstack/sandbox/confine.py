"""The steps that confine a freshly forked child before it runs a runtime. The child joins
the instance's cgroups and enters new mount, IPC, UTS and (by policy) network namespaces.
It builds a minimal read-only root, sets rlimits and drops to the instance's own user.
Last it sets no_new_privs and installs the seccomp filter. The parent puts the child in a
new PID namespace first.

`confine` runs between fork and exec (or, in a pre-forked zygote, before the runtime
starts), so it only makes system calls and touches no locks of the parent."""

from __future__ import annotations

import base64
import fcntl
import os
import resource
import signal
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from rocketstack.sandbox import linux

_RO_BIND = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1

# Device files an instance may open; everything else under /dev is absent.
DEVICES = ("null", "zero", "full", "random", "urandom")


@dataclass(frozen=True)
class Confinement:
    """Everything `confine` does in the child, computed by the parent."""

    # Directory of the host on which the child mounts its new root; empty, owned by root.
    staging: str
    uid: int
    gid: int
    # cgroup.procs files the child joins before anything else, so all it does is counted.
    cgroup_procs: tuple[str, ...]
    unshare_flags: int
    # (host path, path inside) pairs, bound read-only; paths may be files or directories.
    binds: tuple[tuple[str, str], ...]
    # (link path inside, target) pairs, for hosts where /bin, /lib... are symlinks.
    symlinks: tuple[tuple[str, str], ...]
    # Small files written into the new root before it becomes read-only.
    files: tuple[tuple[str, bytes], ...]
    tmp_mb: int
    workdir: str
    rlimits: tuple[tuple[int, int], ...]
    loopback_up: bool
    hostname: str = "rocketstack"
    seccomp: bytes | None = None
    # Write end of a pipe that receives the reason when a step fails.
    error_fd: int = -1
    extra_tmpfs: tuple[tuple[str, int], ...] = field(default=())
    # SCHED_IDLE for the instance until the host gives it work (see LaunchSpec.background).
    idle_priority: bool = False


def confine(plan: Confinement) -> None:
    """Apply `plan` to the calling process; on failure write the reason to
    `plan.error_fd` and raise."""
    step = "start"
    try:
        step = "join cgroups"
        for procs in plan.cgroup_procs:
            with open(procs, "w") as file:
                file.write("0")
        step = "unshare namespaces"
        linux.unshare(plan.unshare_flags)
        step = "build the root"
        _build_root(plan)
        if plan.unshare_flags & linux.CLONE_NEWUTS:
            linux.sethostname(plan.hostname)
        if plan.loopback_up:
            step = "bring up the loopback interface"
            _loopback_up()
        if plan.idle_priority:
            step = "set the idle scheduling policy"
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        step = "set rlimits"
        for limit, value in plan.rlimits:
            resource.setrlimit(limit, (value, value))
        step = "drop privileges"
        os.setgroups([])
        os.setresgid(plan.gid, plan.gid, plan.gid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
        # Changing uid clears "dumpable", which would make /proc/self root-owned and break
        # runtimes that read it; other processes are invisible in the PID namespace anyway.
        linux.prctl(linux.PR_SET_DUMPABLE, 1)
        # Die with the server, so a crashed server leaves no instance behind. Set after
        # the uid change, which clears it.
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        if plan.seccomp:
            step = "install the seccomp filter"
            linux.install_seccomp(plan.seccomp)
        step = f"enter {plan.workdir}"
        os.chdir(plan.workdir)
    except BaseException as error:
        if plan.error_fd >= 0:
            os.write(plan.error_fd, f"{step}: {error}".encode("utf-8", "replace"))
        raise


def _inside(root: str, path: str) -> str:
    return root + path if path.startswith("/") else f"{root}/{path}"


def _build_root(plan: Confinement) -> None:
    root = plan.staging
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    linux.mount("tmpfs", root, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=4m,mode=0755")

    for name in ("proc", "dev", "tmp", "etc"):
        os.mkdir(_inside(root, "/" + name), 0o755)
    os.mkdir(_inside(root, "/dev/shm"), 0o1777)
    # The private tmpfs mounts come first: the function's code may live under the host's
    # /tmp, and its bind mount must land on top of them, not beneath.
    for path, size_mb in (("/tmp", plan.tmp_mb), ("/dev/shm", 16), *plan.extra_tmpfs):
        linux.mount(
            "tmpfs", _inside(root, path), "tmpfs",
            linux.MS_NOSUID | linux.MS_NODEV, f"size={size_mb}m,mode=1777",
        )

    for link, target in plan.symlinks:
        os.symlink(target, _inside(root, link))
    for source, target in plan.binds:
        _bind_read_only(source, _inside(root, target))
    for name in DEVICES:
        source = f"/dev/{name}"
        if os.path.exists(source):
            target = _inside(root, source)
            open(target, "w").close()
            linux.mount(source, target, None, linux.MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, _inside(root, f"/dev/{name}"))

    linux.mount(
        "proc", _inside(root, "/proc"), "proc",
        linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC,
    )
    for path, content in plan.files:
        target = _inside(root, path)
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        with open(target, "wb") as file:
            file.write(content)
        os.chmod(target, 0o644)

    os.chdir(root)
    # Pivot onto the new root and stack the old one beneath it, then detach the old one:
    # after this no path leads back to the host's files.
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)
    os.chdir("/")
    linux.mount(None, "/", None, linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV)


def _bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        open(target, "w").close()
    linux.mount(source, target, None, linux.MS_BIND | linux.MS_REC)
    linux.mount(None, target, None, _RO_BIND | linux.MS_NODEV)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def encode_plan(plan: Confinement) -> dict[str, object]:
    """Return `plan` as JSON-ready values, for a zygote that confines its forked children;
    the error pipe travels as a file descriptor of its own."""
    return {
        "staging": plan.staging,
        "uid": plan.uid,
        "gid": plan.gid,
        "cgroup_procs": list(plan.cgroup_procs),
        "unshare_flags": plan.unshare_flags,
        "binds": [list(pair) for pair in plan.binds],
        "symlinks": [list(pair) for pair in plan.symlinks],
        "files": [[path, base64.b64encode(content).decode()] for path, content in plan.files],
        "tmp_mb": plan.tmp_mb,
        "workdir": plan.workdir,
        "rlimits": [list(pair) for pair in plan.rlimits],
        "loopback_up": plan.loopback_up,
        "hostname": plan.hostname,
        "seccomp": base64.b64encode(plan.seccomp).decode() if plan.seccomp else None,
        "extra_tmpfs": [list(pair) for pair in plan.extra_tmpfs],
        "idle_priority": plan.idle_priority,
    }


def decode_plan(data: dict[str, Any], error_fd: int) -> Confinement:
    """Rebuild the plan that `encode_plan` wrote, reporting failures to `error_fd`."""
    return Confinement(
        staging=data["staging"],
        uid=data["uid"],
        gid=data["gid"],
        cgroup_procs=tuple(data["cgroup_procs"]),
        unshare_flags=data["unshare_flags"],
        binds=tuple((source, target) for source, target in data["binds"]),
        symlinks=tuple((link, target) for link, target in data["symlinks"]),
        files=tuple((path, base64.b64decode(content)) for path, content in data["files"]),
        tmp_mb=data["tmp_mb"],
        workdir=data["workdir"],
        rlimits=tuple((limit, value) for limit, value in data["rlimits"]),
        loopback_up=data["loopback_up"],
        hostname=data["hostname"],
        seccomp=base64.b64decode(data["seccomp"]) if data["seccomp"] else None,
        error_fd=error_fd,
        extra_tmpfs=tuple((path, size) for path, size in data["extra_tmpfs"]),
        idle_priority=bool(data.get("idle_priority")),
    )
