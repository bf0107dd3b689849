"""Zygote of the python3.12 runtime. It starts once per server and imports the bootstrap
and the standard library the bootstrap needs. Then it forks one process per instance on
the host's request. An instance therefore skips the interpreter's start, and it shares the
zygote's memory until it writes to it.

Each fork becomes PID 1 of a new PID namespace and confines itself with the same steps
as an executed instance (cgroups, namespaces, read-only root, uid, rlimits, seccomp). Then
it forks once more. The second process runs the bootstrap, and PID 1 stays behind to reap
orphans and exit with the runtime's status, as an init does.

For an instance of another runtime (Node), the confined fork executes the instance's
command instead, so that the fork copies this small process and not the server.

Messages are JSON over a SOCK_SEQPACKET socket whose fd number is the only argument.
Host to zygote: {"t": "spawn", "id", "plan", "argv", "env", "fds", "exec"} with the instance's
descriptors attached (those named in "fds", then the error pipe). Zygote to host:
{"t": "spawned", "id", "pid"} with a pidfd of the instance attached, or {"t": "spawned",
"id", "error", "errno"}; and {"t": "exit", "pid", "status"} when an instance exits, with
the status as `subprocess` reports it (negative for a signal)."""

import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys

# Set apart before anything is added, and given back to the runtime.
_PRISTINE_PATH = list(sys.path)
_HERE = os.path.dirname(os.path.abspath(__file__))
# rocketstack/runtime/bootstrap -> the directory holding the rocketstack package.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
sys.path[:0] = [_HERE, _PACKAGE_ROOT]
import python_bootstrap  # noqa: E402
from rocketstack.sandbox import confine as confinement  # noqa: E402
from rocketstack.sandbox import linux  # noqa: E402

del sys.path[:2]
# Imported here once so that no instance pays for them: the handler loader uses importlib.
import importlib  # noqa: E402,F401
import importlib.util  # noqa: E402,F401

_MAX_MESSAGE = 1 << 20
_MAX_FDS = 16


def main():
    control = socket.socket(fileno=int(sys.argv[1]))
    # Die with the server: instances die with their zygote (their PID 1 has the same
    # setting), so nothing outlives the server.
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        return None
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:
        pass
    own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)

    def leave():
        """In a forked child: close the zygote's own descriptors through their owners, so
        no object closes a number that the instance's descriptors take later."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        selector.close()
        control.close()
        for fd in (own_pid_ns, wake_r, wake_w):
            os.close(fd)

    # Objects that exist now are never collected, so the collector does not write to the
    # pages every instance shares with the zygote.
    gc.freeze()
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                _drain(wake_r)
                _reap(control)
                continue
            try:
                message, fds, _flags, _address = socket.recv_fds(control, _MAX_MESSAGE, _MAX_FDS)
            except InterruptedError:
                continue
            if not message:
                # The host closed its end: it stopped.
                return None
            request = json.loads(message)
            if request.get("t") != "spawn":
                for fd in fds:
                    os.close(fd)
                continue
            runtime = _spawn(control, own_pid_ns, request, fds, leave)
            if runtime is not None:
                # This process is an instance's runtime now: leave the zygote's loop.
                return runtime


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _reap(control):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"t": "exit", "pid": pid, "status": os.waitstatus_to_exitcode(status)})


def _send(control, message, fds=()):
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))


def _spawn(control, own_pid_ns, request, fds, leave):
    """Fork an instance; return its request in the runtime process, None in the zygote."""
    try:
        # The new PID namespace applies to the next child only; the zygote returns to its
        # own right after.
        linux.unshare(linux.CLONE_NEWPID)
        try:
            pid = os.fork()
        finally:
            if os.getpid() != 1:
                linux.setns(own_pid_ns, linux.CLONE_NEWPID)
    except OSError as error:
        for fd in fds:
            os.close(fd)
        _send(control, {"t": "spawned", "id": request["id"], "error": str(error), "errno": error.errno})
        return None
    if pid == 0:
        return _become_instance(request, fds, leave)
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    try:
        _send(control, {"t": "spawned", "id": request["id"], "pid": pid}, [pidfd])
    finally:
        os.close(pidfd)
    return None


def _become_instance(request, fds, leave):
    """In the forked child, PID 1 of its namespace: confine, start the runtime process,
    then reap until it exits. Returns the request in the runtime process only."""
    error_fd = fds[-1]
    step = "leave the zygote"
    try:
        leave()
        # An init ignores signals it has no handler for when they come from inside its
        # namespace: a handler cannot stop its instance's PID 1 with SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        step = "place descriptors"
        error_fd = _place_fds(request["fds"], fds)
        os.setsid()
        step = None
        # confine reports its own failures on the error pipe.
        confinement.confine(confinement.decode_plan(request["plan"], error_fd))
        if request.get("exec"):
            # An instance of another runtime: its init and runtime replace this process.
            # The error pipe is close-on-exec, so the host reads its end at the exec.
            step = f"execute {request['argv'][0]}"
            os.execve(request["argv"][0], request["argv"], request["env"])
        step = "start the runtime"
        runtime = os.fork()
    except BaseException as error:
        if step is not None:
            try:
                os.write(error_fd, f"{step}: {error}".encode("utf-8", "replace"))
            except OSError:
                pass
        os._exit(127)
    if runtime == 0:
        os.close(error_fd)
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        return request
    # Confinement is done and the runtime started: the host reads the end of the pipe.
    os.close(error_fd)
    for fd in request["fds"]:
        try:
            os.close(fd)
        except OSError:
            pass
    _init(runtime)
    return None


def _place_fds(numbers, fds):
    """Put each received descriptor at the number the runtime expects and stdin on
    /dev/null; close everything else. Return the error pipe's descriptor."""
    # Above every target number first, so that no move below overwrites one still waiting.
    floor = max(numbers, default=2) + 1
    parked = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor) for fd in fds]
    keep = set(parked)
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    null = os.open("/dev/null", os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)
    # os.open returns close-on-exec descriptors; an executed runtime needs its stdin.
    os.set_inheritable(0, True)
    for number, fd in zip(numbers, parked):
        os.dup2(fd, number)
        os.close(fd)
    return parked[-1]


def _init(runtime):
    """PID 1 of the instance: reap every process that ends up here and exit with the
    runtime's status when it exits (128 + the signal number when a signal ended it)."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == runtime:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def run_runtime(request):
    """Run the bootstrap in this process as an executed instance would."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]
    sys.argv = argv[argv.index("-S") + 1 :] if "-S" in argv else argv[1:]
    # The request names host paths, the uid and the cgroups: nothing of it stays readable.
    request.clear()
    python_bootstrap.IN_FD = int(sys.argv[1])
    python_bootstrap.OUT_FD = int(sys.argv[2])
    sys.path[:] = _PRISTINE_PATH
    for name in [name for name in sys.modules if name == "rocketstack" or name.startswith("rocketstack.")]:
        del sys.modules[name]
    # The bootstrap becomes the main module of a script, so that multiprocessing's spawn
    # and forkserver methods start their children from its file, as they do when the
    # bootstrap is executed.
    python_bootstrap.__name__ = "__main__"
    python_bootstrap.__spec__ = None
    sys.modules["__main__"] = python_bootstrap
    gc.collect()
    python_bootstrap.main()


if __name__ == "__main__":
    spawned = main()
    if spawned is not None:
        run_runtime(spawned)
