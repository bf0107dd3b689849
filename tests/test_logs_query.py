"""The logs route: filters by request id and time, follow mode over server-sent events with
resumption by Last-Event-ID, and the retention sweep."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from rocketstack.store.database import Store
from rocketstack.store.models import LogRecord, Report
from rocketstack.store.records import RecordBuffer
from tests.harness import ADMIN_KEY, Api, Server, make_zip

ECHO_PY = '''
def handler(event, context):
    print("tag", event["tag"])
    print("second line of", event["tag"])
    return event["tag"]
'''


def _wait_logs(api: Api, function_id: str, count: int, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    logs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        logs = api.logs(function_id, **params)["logs"]
        if len(logs) >= count:
            break
        time.sleep(0.05)
    return logs


def test_filter_by_request_id_and_time(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": ECHO_PY}))
    first = api.invoke(function["id"], {"tag": "first"})
    _wait_logs(api, function["id"], 2)
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    second = api.invoke(function["id"], {"tag": "second"})
    _wait_logs(api, function["id"], 4)

    only_first = api.logs(function["id"], requestId=first.headers["x-rocketstack-request-id"])
    assert [record["message"] for record in only_first["logs"]] == ["tag first", "second line of first"]
    assert [report["requestId"] for report in only_first["reports"]] == [first.headers["x-rocketstack-request-id"]]

    after = api.logs(function["id"], since=between)
    assert [record["message"] for record in after["logs"]] == ["tag second", "second line of second"]
    assert [report["requestId"] for report in after["reports"]] == [second.headers["x-rocketstack-request-id"]]
    before = api.logs(function["id"], until=between)
    assert [record["message"] for record in before["logs"]] == ["tag first", "second line of first"]

    limited = api.logs(function["id"], limit=1)
    assert len(limited["logs"]) == 1


def test_invalid_filters_rejected(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": ECHO_PY}))
    for params in ({"since": "yesterday"}, {"follow": "maybe"}, {"limit": "0"}):
        response = api.http.get(f"/v1/functions/{function['id']}/logs", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "InvalidParameterValue"


def _read_events(response: httpx.Response, wanted: int, seconds: float = 15.0) -> list[dict[str, Any]]:
    """Parse server-sent events from a streaming response until `wanted` arrived."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + seconds
    for line in response.iter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and current:
            events.append(current)
            current = {}
            if len(events) >= wanted:
                break
        if time.monotonic() > deadline:
            break
    return events


def test_follow_streams_new_records(server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": ECHO_PY}))
    url = f"{server.url}/v1/functions/{function['id']}/logs"
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with (
        httpx.Client(timeout=httpx.Timeout(20.0)) as client,
        ThreadPoolExecutor(1) as pool,
        client.stream("GET", url, params={"follow": "true"}, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        # Invoke while the stream is open: its records arrive as events.
        invoked = pool.submit(api.invoke, function["id"], {"tag": "live"})
        events = _read_events(response, 3)
        request_id = invoked.result(timeout=30).headers["x-rocketstack-request-id"]
    logs = [event for event in events if event["event"] == "log"]
    reports = [event for event in events if event["event"] == "report"]
    assert [event["data"]["message"] for event in logs] == ["tag live", "second line of live"]
    assert {event["data"]["requestId"] for event in logs} == {request_id}
    assert [event["data"]["requestId"] for event in reports] == [request_id]
    assert reports[0]["data"]["outcome"] == "success"

    # Resuming after the first record sends the rest, without repeating it.
    resume = {**headers, "Last-Event-ID": str(logs[0]["id"])}
    with (
        httpx.Client(timeout=httpx.Timeout(20.0)) as client,
        client.stream("GET", url, params={"follow": "true"}, headers=resume) as response,
    ):
        again = _read_events(response, 1)
    assert again[0]["event"] == "log"
    assert again[0]["data"]["message"] == "second line of live"


def test_follow_ends_at_until(server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": ECHO_PY}))
    api.invoke(function["id"], {"tag": "old"})
    _wait_logs(api, function["id"], 2)
    until = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    response = httpx.get(
        f"{server.url}/v1/functions/{function['id']}/logs",
        params={"follow": "true", "until": until},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=20,
    )
    assert response.status_code == 200
    assert response.text.count("event: log") == 2
    assert response.text.count("event: report") == 1


def test_retention_sweep_deletes_old_records(tmp_path: Path) -> None:
    store = Store.for_data_dir(tmp_path)
    store.create_schema()
    now = time.time()
    old = now - 3 * 86400
    store.insert_records(
        [LogRecord("fn_a", "old", old, "stdout", "old line"), LogRecord("fn_a", "new", now, "stdout", "new line")],
        [Report("old", "fn_a", 1, 1.0, 1, None, 128, 10, "success", timestamp=old),
         Report("new", "fn_a", 1, 1.0, 1, None, 128, 10, "success", timestamp=now)],
    )
    buffer = RecordBuffer(store, retention_seconds=86400.0)
    asyncio.run(buffer.sweep())
    assert [record.message for _, record in store.query_logs("fn_a")] == ["new line"]
    assert [report.request_id for report in store.query_reports("fn_a")] == ["new"]
    store.close()
