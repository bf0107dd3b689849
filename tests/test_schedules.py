"""Schedules: their API, runs on request, runs on a clock the test moves, and one run on
start for runs missed while the server was down."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.harness import Api, Server
from tests.lifecycle_support import list_invocations, returning, wait_invocation

HOUR = 3600
START = 1893456000  # 2030-01-01T00:00:00Z


def _set_clock(path: Path, seconds: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(seconds))
    os.replace(tmp, path)


def _create(api: Api, function_id: str, **body: Any) -> dict[str, Any]:
    response = api.http.post(f"/v1/functions/{function_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _schedule_runs(api: Api, function_id: str) -> list[dict[str, Any]]:
    return [i for i in list_invocations(api, function_id) if i["trigger"] == "schedule"]


def _wait_runs(
    api: Api, function_id: str, count: int, timeout: float = 15.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = _schedule_runs(api, function_id)
        if len(runs) >= count and all(r["status"] in ("succeeded", "failed") for r in runs):
            return runs
        time.sleep(0.05)
    raise AssertionError(f"expected {count} finished schedule runs, got {runs}")


def test_schedule_crud(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("event"))
    created = _create(api, function["id"], expression="rate(5 minutes)", payload={"job": "report"})

    assert created["id"].startswith("sch_")
    assert created["functionId"] == function["id"]
    assert created["enabled"] is True
    assert created["payload"] == {"job": "report"}
    assert created["nextRunAt"] is not None
    assert created["lastRunAt"] is None
    url = f"/v1/schedules/{created['id']}"
    assert api.http.get(url).json()["data"] == created
    listed = api.http.get(f"/v1/functions/{function['id']}/schedules").json()["data"]["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert created["id"] in [s["id"] for s in api.http.get("/v1/schedules").json()["data"]["items"]]

    disabled = api.http.patch(url, json={"enabled": False, "description": "nightly"}).json()["data"]
    assert disabled["enabled"] is False
    assert disabled["nextRunAt"] is None
    assert disabled["description"] == "nightly"
    changed = api.http.patch(url, json={"enabled": True, "expression": "15 3 * * 1"}).json()["data"]
    assert changed["expression"] == "15 3 * * 1"
    assert changed["nextRunAt"].endswith("T03:15:00.000Z")

    assert api.http.delete(url).status_code == 200
    assert api.http.get(url).status_code == 404
    assert api.http.post(f"{url}/run").status_code == 404


def test_schedule_rejects_invalid_input(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("event"))
    url = f"/v1/functions/{function['id']}/schedules"
    cases = [
        ({"expression": "* * *"}, "five"),
        ({"expression": "0 * * * * *"}, "five"),
        ({"expression": "61 * * * *"}, "minute"),
        ({"expression": "rate(0 minutes)"}, "1 or more"),
        ({"expression": "rate(5 weeks)"}, "rate(N minutes)"),
        ({"expression": "rate(3000000 days)"}, "longer than 365 days"),
        ({"expression": "rate(5000000000 minutes)"}, "longer than 365 days"),
        ({"expression": "rate(1 hours)"}, "rate(1 hour)"),
        ({"expression": 5}, "expression"),
        ({"payload": {}}, "expression is required"),
        ({"expression": "rate(1 hour)", "enabled": "yes"}, "enabled"),
        ({"expression": "rate(1 hour)", "when": "now"}, "when"),
    ]
    for body, words in cases:
        response = api.http.post(url, json=body)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["error"]["message"], body
    assert (
        api.http.post(
            "/v1/functions/fn_missing/schedules", json={"expression": "rate(1 hour)"}
        ).status_code
        == 404
    )
    assert api.http.get(url).json()["data"]["items"] == []


def test_schedule_run_now(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("{'got': event}"))
    schedule = _create(
        api, function["id"], expression="0 0 1 1 *", payload={"job": "now"}, enabled=False
    )

    response = api.http.post(f"/v1/schedules/{schedule['id']}/run")

    assert response.status_code == 202, response.text
    invocation_id = response.json()["data"]["invocationId"]
    done = wait_invocation(api, invocation_id)
    assert done["status"] == "succeeded"
    assert done["trigger"] == "schedule"
    assert done["type"] == "queued"
    assert done["scheduleId"] == schedule["id"]
    assert done["result"] == {"got": {"job": "now"}}
    after = api.http.get(f"/v1/schedules/{schedule['id']}").json()["data"]
    assert after["lastInvocationId"] == invocation_id
    assert after["nextRunAt"] is None
    assert [i["invocationId"] for i in _schedule_runs(api, function["id"])] == [invocation_id]


def test_schedules_follow_clock_and_catch_up_once(fresh_server: Server, tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    _set_clock(clock, START)
    fresh_server.extra_env.update(
        ROCKETSTACK_SCHEDULER_CLOCK_FILE=str(clock), ROCKETSTACK_SCHEDULER_TICK_SECONDS="0.05"
    )
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.deploy(
            "clocked", "python3.12", "handler.handler", returning("{'got': event}")
        )
        hourly = _create(api, function["id"], expression="0 * * * *", payload={"every": "hour"})
        rate = _create(api, function["id"], expression="rate(90 minutes)", payload={"every": "90m"})
        assert hourly["nextRunAt"] == "2030-01-01T01:00:00.000Z"
        assert rate["nextRunAt"] == "2030-01-01T01:30:00.000Z"

        _set_clock(clock, START + HOUR + 1)
        runs = _wait_runs(api, function["id"], 1)
        assert [
            r["result"] for r in map(lambda r: wait_invocation(api, r["invocationId"]), runs)
        ] == [{"got": {"every": "hour"}}]
        assert runs[0]["scheduleId"] == hourly["id"]
        after = api.http.get(f"/v1/schedules/{hourly['id']}").json()["data"]
        assert after["nextRunAt"] == "2030-01-01T02:00:00.000Z"
        assert after["lastInvocationId"] == runs[0]["invocationId"]

        _set_clock(clock, START + 2 * HOUR)
        runs = _wait_runs(api, function["id"], 3)
        assert sorted(r["scheduleId"] for r in runs) == sorted(
            [hourly["id"], hourly["id"], rate["id"]]
        )
    fresh_server.stop()

    # Four hourly runs and two 90-minute runs are missed while the server is down.
    _set_clock(clock, START + 6 * HOUR + 10)
    fresh_server.start()
    with fresh_server.client() as api:
        runs = _wait_runs(api, function["id"], 5)
        time.sleep(0.5)
        runs = _schedule_runs(api, function["id"])
        hourly_after = api.http.get(f"/v1/schedules/{hourly['id']}").json()["data"]
        rate_after = api.http.get(f"/v1/schedules/{rate['id']}").json()["data"]

    assert len(runs) == 5
    assert [r["status"] for r in runs] == ["succeeded"] * 5
    assert hourly_after["nextRunAt"] == "2030-01-01T07:00:00.000Z"
    assert rate_after["nextRunAt"] == "2030-01-01T07:30:00.000Z"
