"""Queued invocations (X-Invocation-Type: Event): acceptance, results, retries with
backoff, re-drive, reserved concurrency and the maximum event age."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.harness import Api, Server
from tests.lifecycle_support import (
    enqueue,
    get_invocation,
    list_invocations,
    python_code,
    returning,
    wait_invocation,
    wait_update,
)

FAILING = python_code(
    "    if os.environ.get('FAIL') == '1':\n"
    "        raise ValueError('failing on purpose: ' + str(event.get('n')))\n"
    "    return {'done': event.get('n')}"
)


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose retries wait milliseconds, not seconds."""
    data = tmp_path_factory.mktemp("queue") / "data"
    instance = Server(data, env={"ROCKETSTACK_QUEUE_RETRY_BASE_SECONDS": "0.05"}).start()
    yield instance
    instance.stop()


@pytest.fixture
def qapi(queue_server: Server) -> Iterator[Api]:
    with queue_server.client() as client:
        yield client


def test_queued_success_stores_result(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name, "python3.12", "handler.handler", returning("{'echo': event}")
    )
    sync = qapi.invoke(function["id"], {"n": 0})
    assert sync.status_code == 200

    response = qapi.invoke(function["id"], {"n": 1}, headers={"X-Invocation-Type": "Event"})

    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "queued"
    assert response.headers["x-rocketstack-invocation-id"] == data["invocationId"]
    done = wait_invocation(qapi, data["invocationId"])
    assert done["status"] == "succeeded"
    assert done["result"] == {"echo": {"n": 1}}
    assert done["error"] is None
    assert done["attempts"] == 1
    assert done["type"] == "queued"
    assert done["trigger"] == "api"
    assert done["version"] == 1
    assert done["finishedAt"] >= done["startedAt"] >= done["createdAt"]
    assert done["durationMs"] >= 0
    logs = qapi.logs(function["id"], requestId=done["requestIds"][0])
    assert [r["outcome"] for r in logs["reports"]] == ["success"]

    listed = list_invocations(qapi, function["id"])
    assert [i["type"] for i in listed] == ["queued", "sync"]
    assert listed[0]["invocationId"] == data["invocationId"]
    assert listed[1]["invocationId"] == sync.headers["x-rocketstack-request-id"]
    assert listed[1]["status"] == "succeeded"
    assert "result" not in listed[0]


def test_invocation_list_pages_and_filters(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name, "python3.12", "handler.handler", FAILING, env='{"FAIL": "1"}'
    )
    for n in range(3):
        assert qapi.invoke(function["id"], {"n": n}).status_code == 500

    first = qapi.http.get(
        f"/v1/functions/{function['id']}/invocations", params={"limit": 2}
    ).json()["data"]
    second = qapi.http.get(
        f"/v1/functions/{function['id']}/invocations",
        params={"limit": 2, "cursor": first["nextCursor"]},
    ).json()["data"]
    failed = list_invocations(qapi, function["id"], status="failed", type="sync")

    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert second["nextCursor"] is None
    assert len({i["invocationId"] for i in first["items"] + second["items"]}) == 3
    assert len(failed) == 3
    assert failed[0]["error"]["errorType"] == "ValueError"
    assert list_invocations(qapi, function["id"], status="succeeded") == []
    bad = qapi.http.get(f"/v1/functions/{function['id']}/invocations", params={"status": "done"})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["message"]


def test_queued_errors_match_sync(qapi: Api, unique_name: str) -> None:
    event = {"X-Invocation-Type": "Event"}
    missing = qapi.invoke("fn_missing", {}, headers=event)
    response = qapi.create(
        unique_name, "python3.12", "handler.handler", returning("1", module="import nope")
    )
    failed = qapi.wait(response.json()["data"]["resourceId"])
    not_ready = qapi.invoke(failed["id"], {}, headers=event)
    good = qapi.deploy(unique_name + "-ok", "python3.12", "handler.handler", returning("1"))
    too_large = qapi.invoke(
        good["id"], content=b'"' + b"x" * (6 * 1024 * 1024 + 1) + b'"', headers=event
    )
    bad_json = qapi.invoke(good["id"], content=b"{nope", headers=event)
    bad_type = qapi.invoke(good["id"], {}, headers={"X-Invocation-Type": "Later"})

    assert missing.status_code == 404
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "FunctionNotReady"
    assert too_large.status_code == 413
    assert bad_json.status_code == 400
    assert bad_type.status_code == 400
    assert "X-Invocation-Type" in bad_type.json()["error"]["message"]
    assert list_invocations(qapi, good["id"]) == []
    assert qapi.http.get("/v1/invocations/nope").status_code == 404


def test_queued_failure_retries_then_fails(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name,
        "python3.12",
        "handler.handler",
        FAILING,
        env='{"FAIL": "1"}',
        maxRetryAttempts="2",
    )

    invocation_id = enqueue(qapi, function["id"], {"n": 7})
    done = wait_invocation(qapi, invocation_id, ("failed",))

    assert done["attempts"] == 3
    assert len(set(done["requestIds"])) == 3
    assert done["error"]["errorType"] == "ValueError"
    assert done["error"]["errorMessage"] == "failing on purpose: 7"
    assert "failed after 3 attempts" in done["statusReason"]
    assert done["result"] is None
    reports = qapi.logs(function["id"])["reports"]
    assert sorted(r["requestId"] for r in reports) == sorted(done["requestIds"])
    assert {r["outcome"] for r in reports} == {"error"}


def test_queued_failure_without_retries(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name,
        "python3.12",
        "handler.handler",
        FAILING,
        env='{"FAIL": "1"}',
        maxRetryAttempts="0",
    )

    done = wait_invocation(qapi, enqueue(qapi, function["id"], {"n": 1}), ("failed",))

    assert done["attempts"] == 1
    assert "failed after 1 attempt:" in done["statusReason"]


def test_redrive_failed_events(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name,
        "python3.12",
        "handler.handler",
        FAILING,
        env='{"FAIL": "1"}',
        maxRetryAttempts="0",
    )
    first = enqueue(qapi, function["id"], {"n": 1})
    second = enqueue(qapi, function["id"], {"n": 2})
    for invocation_id in (first, second):
        wait_invocation(qapi, invocation_id, ("failed",))
    failed = list_invocations(qapi, function["id"], status="failed", type="queued")
    assert {i["invocationId"] for i in failed} == {first, second}

    # Fix the function, then run the failed events again: one alone, then all the rest.
    response = qapi.http.patch(f"/v1/functions/{function['id']}", json={"env": {"FAIL": "0"}})
    assert response.status_code == 202
    assert wait_update(qapi, function["id"])["lastUpdateStatus"] == "Successful"
    one = qapi.http.post(f"/v1/invocations/{first}/redrive")
    assert one.status_code == 202, one.text
    assert one.json()["data"]["invocationIds"] == [first]
    again = qapi.http.post(f"/v1/invocations/{first}/redrive")
    rest = qapi.http.post(f"/v1/functions/{function['id']}/invocations/redrive")

    assert rest.status_code == 202, rest.text
    assert again.status_code == 409
    for invocation_id, n in ((first, 1), (second, 2)):
        done = wait_invocation(qapi, invocation_id)
        assert done["status"] == "succeeded"
        assert done["result"] == {"done": n}
        assert done["redriveCount"] == 1
        assert done["attempts"] == 1
        assert done["version"] == 2
    sync = qapi.invoke(function["id"], {"n": 3})
    sync_redrive = qapi.http.post(
        f"/v1/invocations/{sync.headers['x-rocketstack-request-id']}/redrive"
    )
    assert sync_redrive.status_code == 409


def test_paused_function_queues_instead_of_throttling(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name, "python3.12", "handler.handler", returning("event"), reservedConcurrency="0"
    )
    assert qapi.invoke(function["id"], {}).status_code == 429

    invocation_id = enqueue(qapi, function["id"], {"n": 1})
    time.sleep(0.3)
    assert get_invocation(qapi, invocation_id)["status"] == "queued"

    response = qapi.http.patch(
        f"/v1/functions/{function['id']}", json={"reservedConcurrency": None}
    )
    assert response.status_code == 202
    done = wait_invocation(qapi, invocation_id)
    assert done["status"] == "succeeded"
    assert done["result"] == {"n": 1}
    assert done["attempts"] == 1


def test_reserved_concurrency_makes_events_wait(qapi: Api, unique_name: str) -> None:
    slow = python_code("    time.sleep(0.2)\n    return event")
    function = qapi.deploy(
        unique_name, "python3.12", "handler.handler", slow, reservedConcurrency="1"
    )

    ids = [enqueue(qapi, function["id"], {"n": n}) for n in range(4)]
    results = [wait_invocation(qapi, invocation_id) for invocation_id in ids]

    assert [r["status"] for r in results] == ["succeeded"] * 4
    assert [r["result"] for r in results] == [{"n": n} for n in range(4)]
    assert [r["attempts"] for r in results] == [1] * 4
    outcomes = [r["outcome"] for r in qapi.logs(function["id"])["reports"]]
    assert outcomes == ["success"] * 4


def test_old_events_dropped_after_max_age(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name,
        "python3.12",
        "handler.handler",
        returning("1"),
        reservedConcurrency="0",
        maxEventAgeSeconds="1",
    )

    done = wait_invocation(qapi, enqueue(qapi, function["id"], {}), ("failed",), timeout=15)

    assert done["attempts"] == 0
    assert "maxEventAgeSeconds" in done["statusReason"]


def test_queued_invocations_removed_with_function(qapi: Api, unique_name: str) -> None:
    function = qapi.deploy(
        unique_name, "python3.12", "handler.handler", returning("1"), reservedConcurrency="0"
    )
    invocation_id = enqueue(qapi, function["id"], {})

    assert qapi.http.delete(f"/v1/functions/{function['id']}").status_code == 200

    assert qapi.http.get(f"/v1/invocations/{invocation_id}").status_code == 404
