"""Another tenant's versions, invocations and schedules are not found, and cannot be
changed, through any of their routes."""

from __future__ import annotations

from tests.harness import Api, Server
from tests.lifecycle_support import enqueue, returning, wait_invocation


def test_other_tenant_gets_not_found(server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("1"))
    invocation_id = enqueue(api, function["id"], {})
    wait_invocation(api, invocation_id)
    schedule = api.http.post(
        f"/v1/functions/{function['id']}/schedules", json={"expression": "rate(1 hour)"}
    ).json()["data"]
    created = api.http.post("/v1/tenants", json={"name": unique_name})
    assert created.status_code == 201, created.text

    with server.client(created.json()["data"]["apiKey"]) as other:
        fid, sid = function["id"], schedule["id"]
        requests = [
            other.http.patch(f"/v1/functions/{fid}", json={"memoryMb": 512}),
            other.http.get(f"/v1/functions/{fid}/versions"),
            other.http.get(f"/v1/functions/{fid}/versions/1"),
            other.http.post(f"/v1/functions/{fid}/rollback", json={"version": 1}),
            other.invoke(fid, {}, headers={"X-Invocation-Type": "Event"}),
            other.http.get(f"/v1/functions/{fid}/invocations"),
            other.http.post(f"/v1/functions/{fid}/invocations/redrive"),
            other.http.get(f"/v1/invocations/{invocation_id}"),
            other.http.post(f"/v1/invocations/{invocation_id}/redrive"),
            other.http.post(f"/v1/functions/{fid}/schedules", json={"expression": "rate(1 hour)"}),
            other.http.get(f"/v1/functions/{fid}/schedules"),
            other.http.get(f"/v1/schedules/{sid}"),
            other.http.patch(f"/v1/schedules/{sid}", json={"enabled": False}),
            other.http.post(f"/v1/schedules/{sid}/run"),
            other.http.delete(f"/v1/schedules/{sid}"),
        ]
        listed = other.http.get("/v1/schedules").json()["data"]["items"]

    for response in requests:
        assert response.status_code == 404, (response.request.method, response.request.url, response.text)
    assert listed == []
    after = api.get(function["id"])
    assert after["version"] == 1
    assert after["lastUpdateStatus"] is None
    assert api.http.get(f"/v1/schedules/{schedule['id']}").json()["data"]["enabled"] is True
