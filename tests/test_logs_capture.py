"""Capture of handler output: every line of both streams stored in order with its request
id, multi-line messages and tracebacks as one record, output that survives the process
dying, records that user output cannot forge, and volume caps with truncation markers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Api, Server, make_zip

CHATTY_PY = '''
import sys

def handler(event, context):
    for i in range(event["lines"]):
        print(f"out {i}")
        print(f"err {i}", file=sys.stderr)
    return "done"
'''

CHATTY_NODE = '''
exports.handler = async (event) => {
  for (let i = 0; i < event.lines; i++) {
    console.log(`out ${i}`);
    console.error(`err ${i}`);
  }
  return 'done';
};
'''

SHAPES_PY = '''
import logging, os, sys, traceback

def handler(event, context):
    print("line one\\nline two")
    try:
        1 / 0
    except ZeroDivisionError:
        traceback.print_exc()
        logging.getLogger("app").exception("while dividing")
    if event.get("die"):
        print("last words")
        os.write(1, b"raw last words\\n")
        os._exit(7)
    return "done"
'''

SHAPES_NODE = '''
exports.handler = async () => {
  console.log('line one\\nline two');
  console.error(new Error('boom'));
  return 'done';
};
'''

FORGER_PY = '''
import json, os, struct, sys

def handler(event, context):
    fake = "REPORT RequestId: forged Duration: 1.00 ms Billed Duration: 1 ms Max Memory Used: 1 MB"
    print(fake)
    os.write(1, b"[ERROR] forged system line\\n")
    # Write a frame straight to the runtime's channel, claiming the platform's stream.
    header = json.dumps({"t": "log", "s": "system"}).encode()
    payload = b"forged via channel"
    os.write(int(sys.argv[2]), struct.pack(">II", len(header), len(payload)) + header + payload)
    return "done"
'''


def _logs(api: Api, function_id: str, request_id: str, expect: int | None = None) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        logs = api.logs(function_id, requestId=request_id, limit=10_000)["logs"]
        if expect is None or len(logs) >= expect or time.monotonic() > deadline:
            return list(logs)
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": CHATTY_PY}),
        ("nodejs20.x", "index.handler", {"index.js": CHATTY_NODE}),
    ],
    ids=["python", "node"],
)
def test_thousands_of_lines_stored_in_order(
    api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str]
) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    response = api.invoke(function["id"], {"lines": 2000})
    assert response.status_code == 200, response.text
    request_id = response.headers["x-rocketstack-request-id"]
    logs = _logs(api, function["id"], request_id, expect=4000)
    expected = []
    for i in range(2000):
        expected += [("stdout", f"out {i}"), ("stderr", f"err {i}")]
    assert [(record["stream"], record["message"]) for record in logs] == expected
    assert {record["requestId"] for record in logs} == {request_id}
    ids = [record["id"] for record in logs]
    assert ids == sorted(ids)


def test_multiline_and_tracebacks_one_record_python(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": SHAPES_PY}))
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    messages = [record["message"] for record in _logs(api, function["id"], response.headers["x-rocketstack-request-id"], 3)]
    assert messages[0] == "line one\nline two"
    assert messages[1].startswith("Traceback (most recent call last):")
    assert messages[1].rstrip().endswith("ZeroDivisionError: division by zero")
    assert "while dividing" in messages[2]
    assert "ZeroDivisionError" in messages[2]
    assert len(messages) == 3


def test_multiline_error_one_record_node(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", make_zip({"index.js": SHAPES_NODE}))
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    logs = _logs(api, function["id"], response.headers["x-rocketstack-request-id"], 2)
    assert logs[0]["message"] == "line one\nline two"
    assert logs[1]["stream"] == "stderr"
    assert logs[1]["message"].startswith("Error: boom\n    at ")
    assert len(logs) == 2


def test_output_kept_when_process_dies(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": SHAPES_PY}))
    response = api.invoke(function["id"], {"die": True})
    assert response.status_code == 500, response.text
    messages = [record["message"] for record in _logs(api, function["id"], response.headers["x-rocketstack-request-id"], 5)]
    assert "last words" in messages
    assert "raw last words" in messages
    assert any("exit status 7" in message for message in messages)


def test_printed_report_cannot_forge_records(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": FORGER_PY}))
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    request_id = response.headers["x-rocketstack-request-id"]
    logs = _logs(api, function["id"], request_id, 3)
    streams = {record["message"]: record["stream"] for record in logs}
    assert streams["forged via channel"] == "stdout"
    assert streams["[ERROR] forged system line"] == "stdout"
    assert streams[next(m for m in streams if m.startswith("REPORT"))] == "stdout"
    assert "system" not in streams.values()
    reports = api.logs(function["id"])["reports"]
    assert [report["requestId"] for report in reports] == [request_id]
    assert reports[0]["outcome"] == "success"


def test_volume_caps_leave_truncation_markers(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={
        "ROCKETSTACK_LOG_MAX_BYTES_PER_INVOCATION": "4096",
        "ROCKETSTACK_LOG_MAX_BYTES_PER_FUNCTION_MINUTE": "10000",
    }).start()
    try:
        with server.client() as api:
            function = api.deploy("chatty", "python3.12", "handler.handler", make_zip({"handler.py": CHATTY_PY}))
            big = api.invoke(function["id"], {"lines": 1000})
            assert big.status_code == 200
            logs = _logs(api, function["id"], big.headers["x-rocketstack-request-id"])
            assert logs[-1]["stream"] == "system"
            assert "truncated" in logs[-1]["message"]
            assert "4096 bytes" in logs[-1]["message"]
            assert sum(len(record["message"]) for record in logs[:-1]) <= 4096
            # Each of these stays under the per-invocation cap; together they pass the
            # function's cap for the minute.
            # Up to eight calls, so a minute that ends between two calls still leaves
            # enough calls in the next minute to pass the cap.
            markers = []
            for _ in range(8):
                small = api.invoke(function["id"], {"lines": 150})
                assert small.status_code == 200
                markers += [
                    record for record in _logs(api, function["id"], small.headers["x-rocketstack-request-id"])
                    if record["stream"] == "system"
                ]
                if markers:
                    break
            assert markers, "no truncation marker for the function's cap"
            assert "10000 bytes in one minute" in markers[0]["message"]
    finally:
        server.stop()
