"""timeoutSeconds: an invocation ends at the limit with 504 TimeoutError, the instance and
everything it started are killed (detached children that ignore SIGTERM too), and the next
invocation gets a fresh instance. Initialisation has a budget of its own."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.harness import Api, make_zip

SLEEPER_PY = '''
import subprocess, sys, time

time.sleep(float(open("init_seconds").read()))
count = 0

def handler(event, context):
    global count
    count += 1
    if event.get("marker"):
        # A detached grandchild that ignores SIGTERM and holds the stdout pipe open.
        subprocess.Popen(
            [sys.executable, "-c",
             "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
             event["marker"]],
            start_new_session=True,
        )
    time.sleep(event.get("sleep", 0))
    return {"count": count}
'''

SPINNER_NODE = '''
const { spawn } = require('node:child_process');
let count = 0;
exports.handler = async (event) => {
  count += 1;
  if (event.marker) {
    spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);', event.marker],
      { detached: true, stdio: 'inherit' });
  }
  if (event.spin) { for (;;) {} }
  return { count };
};
'''


def _host_processes_with(marker: str) -> list[int]:
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


def _wait_gone(marker: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    left = _host_processes_with(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _host_processes_with(marker)
    return left


def _wait_appears(marker: str, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _host_processes_with(marker):
            return True
        time.sleep(0.02)
    return False


def _report(api: Api, function_id: str, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reports = api.logs(function_id, requestId=request_id)["reports"]
        if reports:
            return dict(reports[0])
        time.sleep(0.1)
    raise AssertionError(f"no report for {request_id}")


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "event"),
    [
        ("python3.12", "handler.handler", {"handler.py": SLEEPER_PY, "init_seconds": "0"}, {"sleep": 30}),
        ("nodejs20.x", "index.handler", {"index.js": SPINNER_NODE}, {"spin": True}),
    ],
    ids=["python-sleep", "node-busy-loop"],
)
def test_timeout_kills_instance_and_children(
    api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str], event: dict[str, Any]
) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files), timeoutSeconds=1)
    assert api.invoke(function["id"], {}).json() == {"count": 1}
    marker = f"marker-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(api.invoke, function["id"], {**event, "marker": marker})
        # The detached child runs on the host while the invocation is in flight.
        assert _wait_appears(marker), "the handler's child never started"
        response = pending.result(timeout=60)
    assert response.status_code == 504, response.text
    error = response.json()
    assert error["errorType"] == "TimeoutError"
    assert "timed out after 1 s" in error["errorMessage"]
    assert _wait_gone(marker) == []
    report = _report(api, function["id"], response.headers["x-rocketstack-request-id"])
    assert report["outcome"] == "timeout"
    # A fresh instance with its module state reset and a full budget.
    again = api.invoke(function["id"], {})
    assert again.status_code == 200, again.text
    assert again.json() == {"count": 1}


def test_initialisation_has_own_budget(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": SLEEPER_PY, "init_seconds": "0.6"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, timeoutSeconds=1)
    assert api.invoke(function["id"], {"sleep": 5}).status_code == 504
    # Cold start: 0.6 s of initialisation, then 0.6 s in the handler; only the second part
    # counts toward the invocation's timeout.
    response = api.invoke(function["id"], {"sleep": 0.6})
    assert response.status_code == 200, response.text
    report = _report(api, function["id"], response.headers["x-rocketstack-request-id"])
    assert report["initDurationMs"] >= 600


def test_initialisation_past_budget_fails_creation(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": SLEEPER_PY, "init_seconds": "5"})
    response = api.create(unique_name, "python3.12", "handler.handler", code, timeoutSeconds=1)
    assert response.status_code == 202, response.text
    function = api.wait(response.json()["data"]["resourceId"])
    assert function["status"] == "failed"
    assert "timed out after 1 s" in function["statusReason"]
