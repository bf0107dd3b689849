"""Processes started ahead of need. A server keeps ROCKETSTACK_PRESTARTED_PER_SIZE of them
per runtime and memory size in recent use, and a cold start takes one. A function in such
a process reads only its own code, settings and state."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.memory import children_map, cmdline
from tests.harness import Api, Server, make_zip
from tests.lifecycle_support import wait_update

PROBE_PY = '''
import os

calls = 0

def handler(event, context):
    global calls
    calls += 1
    return {
        "files": sorted(os.listdir("/var/task")),
        "cwd": os.getcwd(),
        "colour": os.environ.get("COLOUR"),
        "memory": context.memory_limit_in_mb,
        "calls": calls,
        "policy": os.sched_getscheduler(0),
    }
'''

PROBE_JS = '''
const fs = require('fs');
let calls = 0;
exports.handler = async (event, context) => {
  calls += 1;
  return {
    files: fs.readdirSync('/var/task').sort(),
    cwd: process.cwd(),
    colour: process.env.COLOUR || null,
    memory: Number(context.memoryLimitInMB),
    calls,
    // Field 41 of /proc/self/stat, after the command name in parentheses.
    policy: Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[38]),
  };
};
'''


def _instances(server: Server) -> dict[str, int]:
    """Count the instances below the server per runtime. Each is a child of the zygote (or
    of the server, when an instance was started without it): a fork of the zygote for
    Python, and tini running the Node bootstrap for Node."""
    assert server.process is not None
    tree = children_map()
    roots = []
    for child in tree.get(server.process.pid, []):
        if b"python_zygote" in cmdline(child):
            roots.extend(tree.get(child, []))
        else:
            roots.append(child)
    counts = {"python": 0, "node": 0}
    for root in roots:
        command = cmdline(root)
        if b"node_bootstrap" in command:
            counts["node"] += 1
        elif b"python_zygote" in command:
            counts["python"] += 1
    return counts


def _wait_for(server: Server, expected: dict[str, int], seconds: float = 20.0) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    counts = _instances(server)
    while counts != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = _instances(server)
    return counts


def test_processes_wait_before_any_function(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "2"}).start()
    try:
        # Two per runtime at the default memory size, with no function deployed yet.
        assert _wait_for(server, {"python": 2, "node": 2}) == {"python": 2, "node": 2}
        with server.client() as api:
            function = api.deploy("first", "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
            assert api.invoke(function["id"], {}).status_code == 200
        # The function's instance took a waiting process, and another one replaced it.
        assert _wait_for(server, {"python": 3, "node": 2}) == {"python": 3, "node": 2}
        slots = sorted(os.listdir(tmp_path / "data" / "slots"))
        assert len(slots) == 5
    finally:
        server.stop()


def test_functions_taking_waiting_processes_see_only_their_own(tmp_path: Path) -> None:
    # At most two instances: every call below is a cold start that takes a waiting
    # process when one is ready, and instances stop and start often.
    env = {"ROCKETSTACK_PRESTARTED_PER_SIZE": "1", "ROCKETSTACK_MAX_INSTANCES": "2"}
    server = Server(tmp_path / "data", env=env).start()
    try:
        with server.client() as api:
            functions = []
            for index, colour in enumerate(("red", "green", "blue")):
                files = {"handler.py": PROBE_PY, f"own-{index}.txt": colour}
                functions.append(api.deploy(f"py{index}", "python3.12", "handler.handler",
                                            make_zip(files), env=json.dumps({"COLOUR": colour})))
                files = {"index.js": PROBE_JS, f"own-{index}.txt": colour}
                functions.append(api.deploy(f"js{index}", "nodejs20.x", "index.handler",
                                            make_zip(files), env=json.dumps({"COLOUR": colour}), memoryMb=512))
            for round_number in range(3):
                for position, function in enumerate(functions):
                    index = position // 2
                    code = "handler.py" if function["runtime"] == "python3.12" else "index.js"
                    response = api.invoke(function["id"], {})
                    assert response.status_code == 200, response.text
                    body = response.json()
                    assert body["files"] == sorted([code, f"own-{index}.txt"])
                    assert body["cwd"] == "/var/task"
                    assert body["colour"] == ("red", "green", "blue")[index]
                    assert body["memory"] == (256 if code == "handler.py" else 512)
                    # Six functions on two instances: every call starts a fresh one.
                    assert body["calls"] == 1, (round_number, function["name"])
                    # Started under SCHED_IDLE, given SCHED_BATCH when it took the function.
                    assert body["policy"] == os.SCHED_BATCH
        # Slots of stopped instances are removed: each one left belongs to a live process,
        # a running instance or a waiting one.
        deadline = time.monotonic() + 10
        slots = os.listdir(tmp_path / "data" / "slots")
        while len(slots) > sum(_instances(server).values()) and time.monotonic() < deadline:
            time.sleep(0.05)
            slots = os.listdir(tmp_path / "data" / "slots")
        assert len(slots) <= sum(_instances(server).values())
    finally:
        server.stop()


def test_no_waiting_processes_when_turned_off(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "0"}).start()
    try:
        with server.client() as api:
            function = api.deploy("only", "nodejs20.x", "index.handler", make_zip({"index.js": PROBE_JS}))
            assert api.invoke(function["id"], {}).json()["calls"] == 1
        time.sleep(0.5)
        # The function's own warm instance, and nothing started ahead.
        assert _instances(server) == {"python": 0, "node": 1}
        assert not (tmp_path / "data" / "slots").exists()
    finally:
        server.stop()


SLOW_PY = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return "done"
"""


def test_burst_raises_the_count_kept(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "1"}).start()
    try:
        assert _wait_for(server, {"python": 1, "node": 1}) == {"python": 1, "node": 1}
        with server.client() as api:
            function = api.deploy("bursty", "python3.12", "handler.handler", make_zip({"handler.py": SLOW_PY}))

            def call(_: int) -> int:
                with server.client() as own:
                    return own.invoke(function["id"], {"sleep": 1}).status_code

            # Six calls at once on one warm instance: five cold starts within a second.
            with ThreadPoolExecutor(6) as pool:
                assert list(pool.map(call, range(6))) == [200] * 6
        # Six warm instances, and a waiting process for each cold start of the burst (and of
        # the deployment, when it fell in the same second), for the next burst of this size.
        deadline = time.monotonic() + 30
        counts = _instances(server)
        while counts["python"] < 6 + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = _instances(server)
        assert counts["python"] in (6 + 5, 6 + 6)
        assert counts["node"] == 1
    finally:
        server.stop()


NESTED_PY = """
import os

def handler(event, context):
    with open("data/nested/value.txt") as file:
        value = file.read()
    with open("shortcut/value.txt") as file:
        through_link = file.read()
    return {"value": value, "through_link": through_link, "link": os.readlink("shortcut")}
"""


def test_nested_code_and_symlinks_in_a_waiting_process(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "2"}).start()
    try:
        assert _wait_for(server, {"python": 2, "node": 2}) == {"python": 2, "node": 2}
        code = make_zip(
            {"handler.py": NESTED_PY, "data/nested/value.txt": "deep"},
            symlinks={"shortcut": "data/nested"},
        )
        with server.client() as api:
            function = api.deploy("nested", "python3.12", "handler.handler", code)
            response = api.invoke(function["id"], {})
        assert response.status_code == 200, response.text
        assert response.json() == {"value": "deep", "through_link": "deep", "link": "data/nested"}
    finally:
        server.stop()


def test_update_after_failed_update(api: Api, unique_name: str) -> None:
    # The failed update's version number and code directory are used again by the next
    # update, whose files must be the ones linked into the instance that loads it.
    function = api.deploy(unique_name, "python3.12", "main.handler",
                          make_zip({"main.py": "def handler(event, context):\n    return 'v1'\n"}))
    broken = make_zip({"main.py": "raise RuntimeError('bad')\n"})
    response = api.http.patch(f"/v1/functions/{function['id']}", files={"code": ("code.zip", broken)})
    assert response.status_code == 202, response.text
    assert wait_update(api, function["id"])["lastUpdateStatus"] == "Failed"
    fixed = make_zip({
        "main.py": "import helper\n\ndef handler(event, context):\n    return helper.VALUE\n",
        "helper.py": "VALUE = 'v2'\n",
    })
    response = api.http.patch(f"/v1/functions/{function['id']}", files={"code": ("code.zip", fixed)})
    assert response.status_code == 202, response.text
    updated = wait_update(api, function["id"])
    assert updated["lastUpdateStatus"] == "Successful", updated
    assert api.invoke(function["id"], {}).json() == "v2"


def test_large_package_starts_without_linking(api: Api, unique_name: str) -> None:
    # More files than a link of every one is worth: a new instance binds the directory.
    files = {f"data/part{index // 100}/file{index}.txt": str(index) for index in range(1200)}
    files["handler.py"] = (
        "import os\n\ndef handler(event, context):\n"
        "    return sum(len(names) for _, _, names in os.walk('/var/task/data'))\n"
    )
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip(files))
    assert api.invoke(function["id"], {}).json() == 1200


def test_waiting_process_killed_from_outside(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_PRESTARTED_PER_SIZE": "2"}).start()
    try:
        assert _wait_for(server, {"python": 2, "node": 2}) == {"python": 2, "node": 2}
        assert server.process is not None
        tree = children_map()
        (zygote,) = [c for c in tree[server.process.pid] if b"python_zygote" in cmdline(c)]
        waiting = [c for c in tree.get(zygote, []) if b"python_zygote" in cmdline(c)]
        for pid in waiting:
            os.kill(pid, signal.SIGKILL)
        # The first calls may find the killed processes before their exits are read. None
        # of the function's code ran in them, so new instances take the calls.
        with server.client() as api:
            function = api.deploy("after-kill", "python3.12", "handler.handler",
                                  make_zip({"handler.py": PROBE_PY}))
            assert api.invoke(function["id"], {}).status_code == 200
    finally:
        server.stop()
