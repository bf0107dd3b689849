"""memoryMb is a hard limit: handlers that allocate past it end with OutOfMemoryError
naming the limit, the report records the peak, and the next invocation starts afresh."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.harness import Api, make_zip

HOG_PY = '''
import os
blocks = []

def handler(event, context):
    for _ in range(event["mb"]):
        blocks.append(bytearray(os.urandom(1)) * (1024 * 1024))
    size = len(blocks)
    blocks.clear()
    return {"allocatedMb": size}
'''

HOG_NODE = '''
exports.handler = async (event) => {
  const blocks = [];
  for (let i = 0; i < event.mb; i++) blocks.push(Buffer.alloc(1024 * 1024, i % 251));
  return { allocatedMb: blocks.length };
};
'''

HEAP_NODE = '''
exports.handler = async (event) => {
  const keep = [];
  for (let i = 0; i < event.mb * 8; i++) keep.push(new Array(16384).fill(i));
  return { kept: keep.length };
};
'''

TMP_FILL_PY = '''
def handler(event, context):
    try:
        with open("/tmp/fill", "wb") as file:
            for _ in range(event["mb"]):
                file.write(b"x" * (1024 * 1024))
        return "written"
    except OSError as error:
        return type(error).__name__
'''


def _report(api: Api, function_id: str, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reports = api.logs(function_id, requestId=request_id)["reports"]
        if reports:
            return dict(reports[0])
        time.sleep(0.1)
    raise AssertionError(f"no report for {request_id}")


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "min_peak_mb"),
    [
        ("python3.12", "handler.handler", {"handler.py": HOG_PY}, 120),
        ("nodejs20.x", "index.handler", {"index.js": HOG_NODE}, 120),
        # V8 stops at its own heap limit, 85% of memoryMb, before the hard limit.
        ("nodejs20.x", "index.handler", {"index.js": HEAP_NODE}, 100),
    ],
    ids=["python", "node-buffers", "node-heap"],
)
def test_allocation_past_limit_is_out_of_memory(
    api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str], min_peak_mb: int
) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files), memoryMb=128)
    response = api.invoke(function["id"], {"mb": 400})
    assert response.status_code == 500, response.text
    error = response.json()
    assert error["errorType"] == "OutOfMemoryError"
    assert "128 MB" in error["errorMessage"]
    report = _report(api, function["id"], response.headers["x-rocketstack-request-id"])
    assert report["outcome"] == "outOfMemory"
    assert report["memorySizeMb"] == 128
    assert min_peak_mb <= report["maxMemoryUsedMb"] <= 128
    # The next invocation gets a fresh instance that works within the limit.
    again = api.invoke(function["id"], {"mb": 8})
    assert again.status_code == 200, again.text


def test_report_records_true_peak(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": HOG_PY}), memoryMb=256)
    response = api.invoke(function["id"], {"mb": 100})
    assert response.status_code == 200, response.text
    # The handler freed its memory before it returned; the report still shows the peak.
    report = _report(api, function["id"], response.headers["x-rocketstack-request-id"])
    assert report["maxMemoryUsedMb"] >= 100
    assert report["maxMemoryUsedMb"] <= 256


def test_tmp_is_capped(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": TMP_FILL_PY}), memoryMb=128)
    response = api.invoke(function["id"], {"mb": 200})
    assert response.status_code == 200, response.text
    assert response.json() == "OSError"


def test_other_function_untouched_by_out_of_memory(api: Api, unique_name: str) -> None:
    hog = api.deploy(unique_name + "-hog", "python3.12", "handler.handler", make_zip({"handler.py": HOG_PY}), memoryMb=128)
    calm = api.deploy(unique_name + "-calm", "python3.12", "handler.handler", make_zip({"handler.py": HOG_PY}), memoryMb=128)
    assert api.invoke(calm["id"], {"mb": 1}).status_code == 200
    assert api.invoke(hog["id"], {"mb": 400}).status_code == 500
    warm = api.invoke(calm["id"], {"mb": 1})
    assert warm.status_code == 200
    report = _report(api, calm["id"], warm.headers["x-rocketstack-request-id"])
    # Still the warm instance: a cold start would carry an init duration.
    assert report["initDurationMs"] is None
