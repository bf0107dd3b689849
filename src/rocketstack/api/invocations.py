"""Routes for invocations: queued (X-Invocation-Type: Event) invokes, looking one up, a
function's list of every kind, and re-driving failed queued ones."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from rocketstack.api.envelope import data_response
from rocketstack.api.json_input import read_json_object
from rocketstack.errors import Conflict, InvalidParameter, NotFound
from rocketstack.platform import Platform
from rocketstack.store.invocations import QUEUED, STATUSES, SYNC, InvocationRecord
from rocketstack.store.models import FunctionRecord, Tenant, iso_from_epoch

INVOCATION_TYPE_HEADER = "x-invocation-type"
_TYPES = ("RequestResponse", "Event")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input; the message names the parameter and the rule"},
    401: {"description": "Missing or invalid API key"},
}


def is_event_invocation(request: Request) -> bool:
    """Return whether the invoke request is to be queued; raise on an unknown type."""
    value = request.headers.get(INVOCATION_TYPE_HEADER)
    if value is None or value == "RequestResponse":
        return False
    if value == "Event":
        return True
    raise InvalidParameter(
        f"X-Invocation-Type {value!r} is not supported; use Event to queue the invocation or "
        "RequestResponse (the default) to wait for its result"
    )


async def accept_event(platform: Platform, record: FunctionRecord, event: bytes) -> Response:
    """Queue an event for a ready function and return 202 once it is stored."""
    platform.functions.ready_spec(record)
    invocation = await platform.queue.enqueue(record, event, "api")
    return data_response(
        {"invocationId": invocation.id, "status": invocation.status},
        status=202,
        headers={"X-Rocketstack-Invocation-Id": invocation.id},
    )


def build_invocations_router(platform: Platform, authenticate: Any) -> APIRouter:
    router = APIRouter(prefix="/v1")
    functions = platform.functions
    store = platform.invocations

    def function_of(request: Request, function_id: str) -> FunctionRecord:
        tenant: Tenant = authenticate(request)
        return functions.get(tenant.id, function_id)

    async def invocation_of(request: Request, invocation_id: str) -> InvocationRecord:
        tenant: Tenant = authenticate(request)
        await platform.records.flush()
        invocation = store.get(invocation_id)
        if invocation is None or invocation.tenant_id != tenant.id:
            raise NotFound(
                f"invocation {invocation_id!r} was not found; list a function's invocations with "
                "GET /v1/functions/{id}/invocations"
            )
        return invocation

    @router.get(
        "/invocations/{invocation_id}",
        responses={**_ERRORS, 404: {"description": "Invocation not found in this tenant"}},
    )
    async def get_invocation(request: Request, invocation_id: str) -> Response:
        invocation = await invocation_of(request, invocation_id)
        return data_response(invocation_json(invocation, with_result=True))

    @router.get(
        "/functions/{function_id}/invocations",
        responses={**_ERRORS, 404: {"description": "Function not found in this tenant"}},
    )
    async def list_invocations(
        request: Request,
        function_id: str,
        status: str | None = None,
        type: str | None = None,
        limit: str = "50",
        cursor: str | None = None,
    ) -> Response:
        record = function_of(request, function_id)
        if status is not None and status not in STATUSES:
            raise InvalidParameter(
                f"status {status!r} is not valid; use one of: {', '.join(STATUSES)}"
            )
        if type is not None and type not in (SYNC, QUEUED):
            raise InvalidParameter(f"type {type!r} is not valid; use sync or queued")
        size = _limit(limit)
        await platform.records.flush()
        items, next_cursor = store.list_for_function(
            record.id, limit=size, cursor=cursor, status=status, kind=type
        )
        return data_response(
            {
                "items": [invocation_json(i, with_result=False) for i in items],
                "nextCursor": next_cursor,
            }
        )

    @router.post(
        "/invocations/{invocation_id}/redrive",
        status_code=202,
        responses={
            **_ERRORS,
            202: {"description": "Queued again with fresh retries"},
            404: {"description": "Invocation not found in this tenant"},
            409: {"description": "Not a failed queued invocation"},
        },
    )
    async def redrive_invocation(request: Request, invocation_id: str) -> Response:
        invocation = await invocation_of(request, invocation_id)
        if invocation.type != QUEUED:
            raise Conflict(
                f"invocation {invocation_id!r} was synchronous; its event was not kept, so invoke "
                "the function again"
            )
        record = functions.get(invocation.tenant_id, invocation.function_id)
        ids = await platform.queue.redrive(record, invocation.id)
        if not ids:
            raise Conflict(
                f"invocation {invocation_id!r} is {invocation.status}; only failed invocations can "
                "be re-driven"
            )
        return data_response({"invocationIds": ids, "status": "queued"}, status=202)

    @router.post(
        "/functions/{function_id}/invocations/redrive",
        status_code=202,
        responses={
            **_ERRORS,
            202: {"description": "Every failed queued invocation of the function is queued again"},
            404: {"description": "Function not found in this tenant"},
        },
        openapi_extra={
            "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}}
        },
    )
    async def redrive_function(request: Request, function_id: str) -> Response:
        record = function_of(request, function_id)
        body = await read_json_object(request, "{}", allow_empty=True)
        if body:
            raise InvalidParameter(f"unknown field {min(body)!r}; send no body")
        ids = await platform.queue.redrive(record, None)
        return data_response({"invocationIds": ids, "status": "queued"}, status=202)

    return router


def invocation_json(invocation: InvocationRecord, *, with_result: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "invocationId": invocation.id,
        "functionId": invocation.function_id,
        "type": invocation.type,
        "trigger": invocation.trigger,
        "status": invocation.status,
        "statusReason": invocation.status_reason,
        "attempts": invocation.attempts,
        "requestIds": invocation.request_ids,
        "version": invocation.version,
        "scheduleId": invocation.schedule_id,
        "redriveCount": invocation.redrive_count,
        "error": orjson.Fragment(invocation.error) if invocation.error else None,
        "createdAt": iso_from_epoch(invocation.created_at),
        "startedAt": _iso(invocation.started_at),
        "finishedAt": _iso(invocation.finished_at),
        "nextAttemptAt": _iso(invocation.next_attempt_at),
        "durationMs": invocation.duration_ms,
    }
    if with_result:
        data["result"] = (
            orjson.Fragment(invocation.result) if invocation.result is not None else None
        )
    return data


def _iso(value: float | None) -> str | None:
    return iso_from_epoch(value) if value is not None else None


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidParameter(f"limit {value!r} is not a whole number; use 1-200") from None
    if not 1 <= number <= 200:
        raise InvalidParameter(f"limit {number} is out of range; use 1-200")
    return number
