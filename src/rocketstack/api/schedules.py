"""Routes for schedules: create, list, get, change, delete, and run one now."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from rocketstack.api.envelope import data_response
from rocketstack.api.json_input import read_json_object
from rocketstack.platform import Platform
from rocketstack.store.models import Tenant, iso_from_epoch
from rocketstack.store.schedules import ScheduleRecord

_EXAMPLE = '{"expression": "rate(5 minutes)", "payload": {"job": "report"}}'
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input; the message names the field and the rule"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Schedule not found in this tenant"},
}
_FUNCTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    404: {"description": "Function not found in this tenant"},
}
_PROPERTIES: dict[str, Any] = {
    "expression": {
        "type": "string",
        "description": "Five-field cron in UTC ('0 * * * *') or rate(N minutes|hours|days)",
    },
    "payload": {"description": "The event each run sends; any JSON, default {}"},
    "enabled": {"type": "boolean", "default": True},
    "description": {"type": "string", "maxLength": 256},
}


def _body_schema(required: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": required, "properties": _PROPERTIES}
                }
            },
        }
    }


def build_schedules_router(platform: Platform, authenticate: Any) -> APIRouter:
    router = APIRouter(prefix="/v1")
    scheduler = platform.scheduler
    functions = platform.functions

    def tenant_of(request: Request) -> Tenant:
        tenant: Tenant = authenticate(request)
        return tenant

    @router.post(
        "/functions/{function_id}/schedules",
        status_code=201,
        openapi_extra=_body_schema(["expression"]),
        responses={**_FUNCTION_ERRORS, 201: {"description": "The schedule"}},
    )
    async def create_schedule(request: Request, function_id: str) -> Response:
        record = functions.get(tenant_of(request).id, function_id)
        body = await read_json_object(request, _EXAMPLE)
        return data_response(schedule_json(scheduler.create(record, body)), status=201)

    @router.get("/functions/{function_id}/schedules", responses=_FUNCTION_ERRORS)
    async def list_function_schedules(request: Request, function_id: str) -> Response:
        record = functions.get(tenant_of(request).id, function_id)
        items = scheduler.schedules.list_for_function(record.id)
        return data_response({"items": [schedule_json(s) for s in items]})

    @router.get("/schedules", responses=_ERRORS)
    async def list_schedules(request: Request) -> Response:
        items = scheduler.schedules.list_for_tenant(tenant_of(request).id)
        return data_response({"items": [schedule_json(s) for s in items]})

    @router.get("/schedules/{schedule_id}", responses=_ERRORS)
    async def get_schedule(request: Request, schedule_id: str) -> Response:
        return data_response(schedule_json(scheduler.get(tenant_of(request), schedule_id)))

    @router.patch("/schedules/{schedule_id}", openapi_extra=_body_schema([]), responses=_ERRORS)
    async def update_schedule(request: Request, schedule_id: str) -> Response:
        schedule = scheduler.get(tenant_of(request), schedule_id)
        body = await read_json_object(request, '{"enabled": false}')
        return data_response(schedule_json(scheduler.update(schedule, body)))

    @router.delete("/schedules/{schedule_id}", responses=_ERRORS)
    async def delete_schedule(request: Request, schedule_id: str) -> Response:
        schedule = scheduler.get(tenant_of(request), schedule_id)
        scheduler.delete(schedule)
        return data_response({"scheduleId": schedule.id, "deleted": True})

    @router.post(
        "/schedules/{schedule_id}/run",
        status_code=202,
        responses={**_ERRORS, 202: {"description": "One run queued; data.invocationId"}},
    )
    async def run_schedule(request: Request, schedule_id: str) -> Response:
        schedule = scheduler.get(tenant_of(request), schedule_id)
        invocation = await scheduler.run_now(schedule)
        return data_response(
            {"invocationId": invocation.id, "status": invocation.status, "scheduleId": schedule.id},
            status=202,
            headers={"X-Rocketstack-Invocation-Id": invocation.id},
        )

    return router


def schedule_json(schedule: ScheduleRecord) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "functionId": schedule.function_id,
        "expression": schedule.expression,
        "payload": orjson.Fragment(schedule.payload),
        "enabled": schedule.enabled,
        "description": schedule.description,
        "nextRunAt": iso_from_epoch(schedule.next_run_at)
        if schedule.next_run_at is not None
        else None,
        "lastRunAt": iso_from_epoch(schedule.last_run_at)
        if schedule.last_run_at is not None
        else None,
        "lastInvocationId": schedule.last_invocation_id,
        "createdAt": schedule.created_at,
        "updatedAt": schedule.updated_at,
    }
