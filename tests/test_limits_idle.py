"""Idle instances stop after ROCKETSTACK_INSTANCE_IDLE_SECONDS, so deployed functions that
nobody calls cost no processes; the next invocation starts a fresh instance."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from tests.harness import Server, make_zip

COUNTER_PY = '''
count = 0

def handler(event, context):
    global count
    count += 1
    return count
'''


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _instances(server_pid: int) -> list[int]:
    """The processes of instances below the server: its descendants except the Python
    runtime's zygote, a direct child that stays."""
    found = []
    for child in _children(server_pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as file:
                if b"python_zygote" in file.read():
                    found.extend(_children(child))
                    continue
        except OSError:
            continue
        found.append(child)
    return found


def test_idle_instances_stop(tmp_path: Path) -> None:
    # No pre-started processes: every process below the server then belongs to a function.
    env = {"ROCKETSTACK_INSTANCE_IDLE_SECONDS": "0.5", "ROCKETSTACK_PRESTARTED_PER_SIZE": "0"}
    server = Server(tmp_path / "data", env=env).start()
    try:
        assert server.process is not None
        with server.client() as api:
            functions = [
                api.deploy(f"idle{i}", "python3.12", "handler.handler", make_zip({"handler.py": COUNTER_PY}))
                for i in range(3)
            ]
            for function in functions:
                assert api.invoke(function["id"], {}).status_code == 200
            deadline = time.monotonic() + 15
            assert _instances(server.process.pid)
            while _instances(server.process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _instances(server.process.pid) == []
            # The module state is gone with the instance: the count starts again.
            response = api.invoke(functions[0]["id"], {})
            assert response.json() == 1
            request_id = response.headers["x-rocketstack-request-id"]
            deadline = time.monotonic() + 10
            reports: list[dict[str, object]] = []
            while not reports and time.monotonic() < deadline:
                reports = api.logs(functions[0]["id"], requestId=request_id)["reports"]
                time.sleep(0.05)
            assert reports[0]["initDurationMs"] is not None
    finally:
        server.stop()


SPAWNER_PY = '''
import subprocess, sys

def handler(event, context):
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", event["marker"]],
                     start_new_session=True)
    return "spawned"
'''


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_instances_die_with_killed_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    marker = f"orphan-{uuid.uuid4().hex}"
    try:
        with server.client() as api:
            function = api.deploy("spawner", "python3.12", "handler.handler", make_zip({"handler.py": SPAWNER_PY}))
            assert api.invoke(function["id"], {"marker": marker}).json() == "spawned"
        assert _processes_with(marker)
        server.kill()
        deadline = time.monotonic() + 10
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(marker) == []
    finally:
        server.stop()
