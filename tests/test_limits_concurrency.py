"""reservedConcurrency caps a function's in-flight invocations (429 with Retry-After), 0
pauses it (429 FunctionPaused), the node-wide cap applies to unreserved functions, and a
slot is freed after a crash or a timeout too."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.harness import Api, Server, make_zip

SLOW_PY = '''
import os, subprocess, sys, time

def handler(event, context):
    print("started", event.get("tag"))
    if event.get("exit"):
        os._exit(1)
    if event.get("tag"):
        # Sleep in a child whose command line carries the tag, so the test sees the
        # invocation in flight from the host.
        subprocess.run([sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))",
                        str(event.get("sleep", 0)), event["tag"]])
    else:
        time.sleep(event.get("sleep", 0))
    return "done"
'''


def _in_flight(tag: str) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if tag.encode() in file.read():
                        return True
            except OSError:
                continue
    return False


def _wait_started(tag: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _in_flight(tag):
            return
        time.sleep(0.02)
    raise AssertionError(f"invocation {tag} never started")


def test_over_reserved_concurrency_is_throttled(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}),
                          reservedConcurrency=1)
    with ThreadPoolExecutor(1) as pool:
        tag = f"first-{uuid.uuid4().hex}"
        first = pool.submit(api.invoke, function["id"], {"sleep": 2, "tag": tag})
        _wait_started(tag)
        throttled = api.invoke(function["id"], {"tag": "second"})
        assert first.result(timeout=30).status_code == 200
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    reports = api.logs(function["id"])["reports"]
    assert "throttled" in [report["outcome"] for report in reports]


def test_paused_function_rejected(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}),
                          reservedConcurrency=0)
    response = api.invoke(function["id"], {})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "FunctionPaused"
    messages = [record["message"] for record in api.logs(function["id"])["logs"]]
    assert "started None" not in messages


def test_slot_freed_after_crash_and_timeout(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}),
                          reservedConcurrency=1, timeoutSeconds=1)
    crashed = api.invoke(function["id"], {"exit": True})
    assert crashed.status_code == 500
    assert api.invoke(function["id"], {}).status_code == 200
    timed_out = api.invoke(function["id"], {"sleep": 5})
    assert timed_out.status_code == 504
    assert api.invoke(function["id"], {}).status_code == 200


def test_unreserved_functions_share_node_cap(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_UNRESERVED_CONCURRENCY": "1"}).start()
    try:
        with server.client() as api:
            slow = api.deploy("slow", "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}))
            other = api.deploy("other", "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}))
            reserved = api.deploy("reserved", "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}),
                                  reservedConcurrency=1)
            with ThreadPoolExecutor(1) as pool:
                tag = f"first-{uuid.uuid4().hex}"
                first = pool.submit(api.invoke, slow["id"], {"sleep": 2, "tag": tag})
                _wait_started(tag)
                throttled = api.invoke(other["id"], {})
                # A function with reserved concurrency does not draw from the shared cap.
                assert api.invoke(reserved["id"], {}).status_code == 200
                assert first.result(timeout=30).status_code == 200
            assert throttled.status_code == 429
            assert throttled.headers["retry-after"] == "1"
            assert api.invoke(other["id"], {}).status_code == 200
    finally:
        server.stop()
