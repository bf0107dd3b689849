"""Control-plane calls for versions, queued invocations and schedules, sent through the SDK
client's connection, key and error handling."""

from __future__ import annotations

import json
from typing import Any

from rocketstack.client import AsyncClient
from rocketstack.client.base import Call

# TODO: move these calls onto public AsyncClient methods once the SDK offers them.


async def _data(client: AsyncClient, call: Call) -> dict[str, Any]:
    data = await client._fetch(call)
    return dict(data)


async def list_versions(client: AsyncClient, function_id: str) -> list[dict[str, Any]]:
    data = await _data(client, Call("GET", f"/v1/functions/{function_id}/versions"))
    return list(data["items"])


async def rollback(client: AsyncClient, function_id: str, version: int) -> dict[str, Any]:
    call = Call("POST", f"/v1/functions/{function_id}/rollback", json_body={"version": version})
    return await _data(client, call)


async def queue_invocation(client: AsyncClient, function_id: str, payload: Any) -> dict[str, Any]:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    call = Call(
        "POST",
        f"/v1/functions/{function_id}/invoke",
        content=body,
        headers={"Content-Type": "application/json", "X-Invocation-Type": "Event"},
    )
    return await _data(client, call)


async def get_invocation(client: AsyncClient, invocation_id: str) -> dict[str, Any]:
    return await _data(client, Call("GET", f"/v1/invocations/{invocation_id}"))


async def list_invocations(
    client: AsyncClient,
    function_id: str,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    params = {"status": status, "type": kind, "limit": str(limit), "cursor": cursor}
    call = Call(
        "GET",
        f"/v1/functions/{function_id}/invocations",
        params={key: value for key, value in params.items() if value},
    )
    return await _data(client, call)


async def redrive_invocation(client: AsyncClient, invocation_id: str) -> dict[str, Any]:
    return await _data(client, Call("POST", f"/v1/invocations/{invocation_id}/redrive"))


async def redrive_function(client: AsyncClient, function_id: str) -> dict[str, Any]:
    return await _data(client, Call("POST", f"/v1/functions/{function_id}/invocations/redrive"))


async def create_schedule(
    client: AsyncClient, function_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    call = Call("POST", f"/v1/functions/{function_id}/schedules", json_body=body)
    return await _data(client, call)


async def list_schedules(client: AsyncClient, function_id: str | None) -> list[dict[str, Any]]:
    path = f"/v1/functions/{function_id}/schedules" if function_id else "/v1/schedules"
    data = await _data(client, Call("GET", path))
    return list(data["items"])


async def update_schedule(
    client: AsyncClient, schedule_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    return await _data(client, Call("PATCH", f"/v1/schedules/{schedule_id}", json_body=body))


async def delete_schedule(client: AsyncClient, schedule_id: str) -> dict[str, Any]:
    return await _data(client, Call("DELETE", f"/v1/schedules/{schedule_id}"))


async def run_schedule(client: AsyncClient, schedule_id: str) -> dict[str, Any]:
    return await _data(client, Call("POST", f"/v1/schedules/{schedule_id}/run"))
