"""Python instances are forks of one zygote per server: many of them at once, an exit
status that reaches the caller, and a zygote that dies and is replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from benchmarks.memory import children_map, cmdline
from tests.harness import Api, Server, make_zip

EXIT_PY = '''
import os

def handler(event, context):
    if event.get("exit") is not None:
        os._exit(event["exit"])
    return {"pid": os.getpid(), "ppid": os.getppid()}
'''


def _zygotes(server: Server) -> list[int]:
    assert server.process is not None
    return [child for child in children_map().get(server.process.pid, []) if b"python_zygote" in cmdline(child)]


def _running(pid: int) -> bool:
    """Return True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_many_instances_at_once(fresh_server: Server) -> None:
    # Each instance keeps descriptors open in the server, so later instances get high
    # numbers. Every one of them must still reach its runtime at the right number.
    fresh_server.start()
    with fresh_server.client() as api:
        functions = [
            api.deploy(f"many{index}", "python3.12", "handler.handler", make_zip({"handler.py": EXIT_PY}))
            for index in range(40)
        ]
        for function in functions:
            response = api.invoke(function["id"], {})
            assert response.status_code == 200, response.text
            # The runtime is PID 2 of its namespace, below the instance's init.
            assert response.json() == {"pid": 2, "ppid": 1}


def test_exit_status_reaches_the_caller(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": EXIT_PY}))
    response = api.invoke(function["id"], {"exit": 3})
    # A function error: the handler's process exited, with the status it chose.
    assert response.status_code == 500, response.text
    assert response.json()["errorType"] == "ProcessExited"
    assert "exit status 3" in response.json()["errorMessage"]
    # The next invocation starts a fresh instance.
    assert api.invoke(function["id"], {}).status_code == 200


def test_killed_zygote_is_replaced(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        with server.client() as api:
            function = api.deploy("survivor", "python3.12", "handler.handler", make_zip({"handler.py": EXIT_PY}))
            assert api.invoke(function["id"], {}).status_code == 200
            (zygote,) = _zygotes(server)
            instances = children_map().get(zygote, [])
            assert instances
            os.kill(zygote, signal.SIGKILL)
            # Its instances die with it.
            deadline = time.monotonic() + 15
            while any(_running(pid) for pid in instances) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(_running(pid) for pid in instances)
            # The next call starts a new zygote and instance.
            response = api.invoke(function["id"], {})
            while response.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
                response = api.invoke(function["id"], {})
            assert response.status_code == 200, response.text
            assert _zygotes(server) not in ([], [zygote])
    finally:
        server.stop()


def test_stopped_zygote_does_not_hang_cold_starts(tmp_path: Path) -> None:
    # No pre-started processes: the cold start below must go through the zygote.
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "0"}).start()
    try:
        with server.client() as api:
            first = api.deploy("before", "python3.12", "handler.handler", make_zip({"handler.py": EXIT_PY}))
            assert api.invoke(first["id"], {}).status_code == 200
            (zygote,) = _zygotes(server)
            os.kill(zygote, signal.SIGSTOP)
            try:
                # Preparing a new function needs a new instance; the stuck zygote is
                # replaced after its reply timeout instead of hanging the deployment.
                second = api.deploy("after", "python3.12", "handler.handler", make_zip({"handler.py": EXIT_PY}))
                assert api.invoke(second["id"], {}).json() == {"pid": 2, "ppid": 1}
            finally:
                # Already gone when the server replaced it.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(zygote, signal.SIGCONT)
    finally:
        server.stop()


SPAWN_PY = '''
import multiprocessing
import os
import signal

def handler(event, context):
    if event.get("interrupt_init"):
        os.kill(1, signal.SIGINT)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.map(abs, [-4])
'''


def test_multiprocessing_spawn_works(api: Api, unique_name: str) -> None:
    # The children of the spawn method start from the main module's file, which must be
    # the bootstrap's, as when it is executed.
    function = api.deploy(unique_name, "python3.12", "handler.handler",
                          make_zip({"handler.py": SPAWN_PY}), timeoutSeconds=30)
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    assert response.json() == [4]


def test_sigint_to_init_is_ignored(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler",
                          make_zip({"handler.py": SPAWN_PY}), timeoutSeconds=30)
    assert api.invoke(function["id"], {"interrupt_init": True}).status_code == 200
    # The instance is still there: the next call is warm.
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    request_id = response.headers["x-rocketstack-request-id"]
    deadline = time.monotonic() + 10
    reports: list[dict[str, object]] = []
    while not reports and time.monotonic() < deadline:
        reports = api.logs(function["id"], requestId=request_id)["reports"]
        time.sleep(0.05)
    assert reports[0]["initDurationMs"] is None
