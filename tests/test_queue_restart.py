"""Queued invocations survive a crash of the server: stored events run after the restart,
and an attempt cut short runs again (at least once)."""

from __future__ import annotations

import time

from tests.harness import Server
from tests.lifecycle_support import (
    enqueue,
    get_invocation,
    python_code,
    returning,
    wait_invocation,
    wait_update,
)


def test_restart_runs_pending_events(fresh_server: Server) -> None:
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.deploy(
            "pending", "python3.12", "handler.handler", returning("event"), reservedConcurrency="0"
        )
        ids = [enqueue(api, function["id"], {"n": n}) for n in range(3)]
    fresh_server.kill()

    fresh_server.start()
    with fresh_server.client() as api:
        assert [get_invocation(api, i)["status"] for i in ids] == ["queued"] * 3
        response = api.http.patch(
            f"/v1/functions/{function['id']}", json={"reservedConcurrency": None}
        )
        assert response.status_code == 202
        assert wait_update(api, function["id"])["lastUpdateStatus"] == "Successful"
        results = [wait_invocation(api, i) for i in ids]

    assert [r["status"] for r in results] == ["succeeded"] * 3
    assert [r["result"] for r in results] == [{"n": n} for n in range(3)]


def test_restart_repeats_interrupted_attempt(fresh_server: Server) -> None:
    fresh_server.start()
    slow = python_code("    time.sleep(1.5)\n    return {'n': event['n']}")
    with fresh_server.client() as api:
        function = api.deploy(
            "interrupted", "python3.12", "handler.handler", slow, maxRetryAttempts="0"
        )
        invocation_id = enqueue(api, function["id"], {"n": 5})
        running = wait_invocation(api, invocation_id, ("running",))
        assert running["attempts"] == 1
    fresh_server.kill()

    fresh_server.start()
    with fresh_server.client() as api:
        done = wait_invocation(api, invocation_id)

    assert done["status"] == "succeeded"
    assert done["result"] == {"n": 5}
    # The cut-short attempt does not count against maxRetryAttempts 0.
    assert done["attempts"] == 1
    assert len(done["requestIds"]) == 2


def test_restart_fails_interrupted_update(fresh_server: Server) -> None:
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.deploy("updating", "python3.12", "handler.handler", returning("'old'"))
        slow = returning("'new'", module="time.sleep(3)")
        response = api.http.patch(
            f"/v1/functions/{function['id']}", files={"code": ("code.zip", slow)}
        )
        assert response.status_code == 202
        time.sleep(0.3)
    fresh_server.kill()

    fresh_server.start()
    with fresh_server.client() as api:
        after = api.get(function["id"])
        assert after["lastUpdateStatus"] == "Failed"
        assert "server stopped" in after["lastUpdateStatusReason"]
        assert after["status"] == "ready"
        assert api.invoke(function["id"], {}).json() == "old"
