"""Host end of a runtime's zygote (see runtime/bootstrap/python_zygote.py): starts it,
requests confined instances from it, and follows their exits. The zygote replies to each fork
with the instance's pid and a pidfd, and reports every exit status, because the instance
is its child and not the server's."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import orjson

from rocketstack.sandbox.cgroups import InstanceGroup
from rocketstack.sandbox.process import GroupedProcess

log = logging.getLogger(__name__)

_MAX_MESSAGE = 64 * 1024
# Seconds to wait for the zygote's exit report once the pidfd shows the instance gone.
_EXIT_REPORT_SECONDS = 2.0
# Seconds to wait for the zygote's reply to a fork; a zygote that takes longer is stuck
# (stopped, or starved) and is replaced.
_FORK_REPLY_SECONDS = 10.0


class ZygoteUnavailable(OSError):
    pass


class Zygote:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[tuple[dict[str, Any], list[int]]]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self._socket is not None

    def start(self) -> None:
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [*self.argv, str(zygote_end.fileno())],
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"},
                stdin=subprocess.DEVNULL,
                pass_fds=[zygote_end.fileno()],
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            host_end.close()
            raise
        finally:
            zygote_end.close()
        host_end.setblocking(False)
        self._socket = host_end
        asyncio.get_running_loop().add_reader(host_end.fileno(), self._on_readable)

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            self.process = None
        self._fail_all("the zygote stopped")

    async def fork(self, request: dict[str, Any], fds: list[int]) -> tuple[int, int]:
        """Ask for one instance; return its pid and a pidfd (the caller closes it)."""
        if not self.running:
            self.close()
            self.start()
        assert self._socket is not None
        number = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._replies[number] = reply
        try:
            socket.send_fds(self._socket, [orjson.dumps({**request, "t": "spawn", "id": number})], fds)
        except OSError as error:
            self._replies.pop(number, None)
            raise ZygoteUnavailable(errno.EIO, f"sending to the zygote failed: {error}") from error
        try:
            message, received = await asyncio.wait_for(reply, _FORK_REPLY_SECONDS)
        except asyncio.TimeoutError:
            self._replies.pop(number, None)
            log.error("the zygote did not reply to a fork in %s s; replacing it", _FORK_REPLY_SECONDS)
            self.close()
            raise ZygoteUnavailable(errno.ETIMEDOUT, "the zygote did not reply in time") from None
        if "error" in message:
            raise OSError(int(message.get("errno") or errno.EIO), f"fork failed: {message['error']}")
        pid = int(message["pid"])
        self._exits.setdefault(pid, asyncio.get_running_loop().create_future())
        return pid, received[0]

    def exit_status(self, pid: int) -> asyncio.Future[int]:
        return self._exits.setdefault(pid, asyncio.get_running_loop().create_future())

    def forget(self, pid: int) -> None:
        self._exits.pop(pid, None)

    def _on_readable(self) -> None:
        while self._socket is not None:
            try:
                data, fds, _flags, _address = socket.recv_fds(self._socket, _MAX_MESSAGE, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                log.error("the zygote's socket failed: %s", error)
                self.close()
                return
            if not data:
                log.warning("the zygote exited; the next instance starts a new one")
                self.close()
                return
            message = orjson.loads(data)
            if message.get("t") == "spawned":
                reply = self._replies.pop(int(message["id"]), None)
                if reply is not None and not reply.done():
                    reply.set_result((message, fds))
                else:
                    for fd in fds:
                        os.close(fd)
            elif message.get("t") == "exit":
                # Only instances still followed: a forgotten pid may belong to a new
                # process of another program by now.
                status = self._exits.get(int(message["pid"]))
                if status is not None and not status.done():
                    status.set_result(int(message["status"]))

    def _fail_all(self, reason: str) -> None:
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(ZygoteUnavailable(errno.EIO, reason))
        self._replies.clear()


class ForkedProcess(GroupedProcess):
    """An instance forked by a zygote: PID 1 of its own namespace, so killing it ends
    every process of the instance."""

    def __init__(
        self,
        zygote: Zygote,
        pid: int,
        pidfd: int,
        group: InstanceGroup | None,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(pid, pidfd, group, on_release)
        self.zygote = zygote
        self._returncode: int | None = None
        self._status = zygote.exit_status(pid)

    async def wait(self) -> int:
        if self._returncode is not None:
            return self._returncode
        if not self._status.done() and self._pidfd >= 0:
            loop = asyncio.get_running_loop()
            exited = loop.create_future()
            fd = self._pidfd
            loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
            try:
                await exited
            finally:
                loop.remove_reader(fd)
        try:
            self._returncode = await asyncio.wait_for(asyncio.shield(self._status), _EXIT_REPORT_SECONDS)
        except (asyncio.TimeoutError, ZygoteUnavailable):
            # The zygote died with its instances before it could report: they were killed.
            self._returncode = -signal.SIGKILL
        self.zygote.forget(self.pid)
        return self._returncode

    def kill(self) -> None:
        # One pass only: waiting here for the processes to exit would stall the event loop
        # for milliseconds. `release` runs after the exit and kills any process left.
        if self.group is not None:
            self.group.signal_all()
        if self._pidfd >= 0 and not self._status.done():
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
