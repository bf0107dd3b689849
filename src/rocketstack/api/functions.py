"""Routes for functions: create, list, get, delete, invoke and logs."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from rocketstack.api.body import limit_body, read_body
from rocketstack.api.envelope import JSONBytes, data_response
from rocketstack.api.invocations import accept_event, is_event_invocation
from rocketstack.api.invoke import MAX_EVENT_BYTES, event_from_body, result_status
from rocketstack.api.log_stream import LogQuery, follow_logs
from rocketstack.api.serialize import function_json, log_json, report_json
from rocketstack.context import request_id_var
from rocketstack.deploy.archive import MAX_UPLOAD_BYTES
from rocketstack.deploy.validation import HANDLER_RE, TEXT_FIELDS, parse_form_fields
from rocketstack.errors import (
    Conflict,
    InvalidParameter,
    RocketstackError,
    UnsupportedMediaType,
)
from rocketstack.platform import Platform
from rocketstack.store.models import Tenant

# Room for the text fields and multipart boundaries around the code file.
_FORM_OVERHEAD = 1024 * 1024

_FUNCTION_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "runtime", "handler", "code"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
                        "runtime": {"type": "string", "enum": ["nodejs20.x", "python3.12"]},
                        "handler": {
                            "type": "string",
                            "maxLength": 128,
                            "pattern": HANDLER_RE.pattern,
                            "example": "index.handler",
                        },
                        "code": {"type": "string", "format": "binary"},
                        "memoryMb": {"type": "integer", "minimum": 128, "maximum": 10240},
                        "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 60},
                        "env": {"type": "string", "description": "JSON object of strings"},
                        "reservedConcurrency": {"type": "integer", "minimum": 0, "maximum": 100},
                        "description": {"type": "string", "maxLength": 256},
                        "isPublic": {"type": "string", "enum": ["true", "false"]},
                        "publicMethod": {"type": "string", "enum": ["GET", "POST", "PATCH", "DELETE"]},
                        "maxRetryAttempts": {"type": "integer", "minimum": 0, "maximum": 5},
                        "maxEventAgeSeconds": {"type": "integer", "minimum": 1, "maximum": 86400},
                    },
                }
            }
        },
    }
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input; the message names the field and the rule"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Function not found in this tenant"},
}


def build_router(platform: Platform, authenticate: Any) -> APIRouter:
    router = APIRouter(prefix="/v1")
    functions = platform.functions

    def tenant_of(request: Request) -> Tenant:
        tenant: Tenant = authenticate(request)
        return tenant

    def as_json(tenant: Tenant, record: Any) -> dict[str, Any]:
        return function_json(record, functions.public_url(tenant, record))

    @router.post(
        "/functions",
        status_code=202,
        openapi_extra=_FUNCTION_FORM_SCHEMA,
        responses={**_ERRORS, 409: {"description": "Name taken"}, 413: {"description": "Code too large"}},
    )
    async def create_function(request: Request) -> Response:
        tenant = tenant_of(request)
        fields, code = await read_function_form(request, require_code=True)
        config = parse_form_fields(fields, require=True)
        if platform.store.function_by_name(tenant.id, config.fields["name"]) is not None:
            raise Conflict(
                f"a function named {config.fields['name']!r} already exists; choose another "
                "name or update the existing function"
            )
        assert code is not None
        try:
            record = await platform.deployer.create(
                tenant.id, config, code.file, request_id_var.get()
            )
        finally:
            await code.close()
        return data_response({"resourceId": record.id, "status": record.status}, status=202)

    @router.get("/functions", responses=_ERRORS)
    async def list_functions(request: Request, limit: str = "50", cursor: str | None = None) -> Response:
        tenant = tenant_of(request)
        size = _int_param("limit", limit, 1, 100)
        records, next_cursor = platform.store.list_functions(tenant.id, size, cursor)
        return data_response(
            {"items": [as_json(tenant, r) for r in records], "nextCursor": next_cursor}
        )

    @router.get("/functions/{function_id}", responses=_ERRORS)
    async def get_function(request: Request, function_id: str) -> Response:
        tenant = tenant_of(request)
        return data_response(as_json(tenant, functions.get(tenant.id, function_id)))

    @router.delete("/functions/{function_id}", responses=_ERRORS)
    async def delete_function(request: Request, function_id: str) -> Response:
        tenant = tenant_of(request)
        record = functions.get(tenant.id, function_id)
        await functions.delete(record)
        return data_response({"resourceId": record.id, "deleted": True})

    @router.post(
        "/functions/{function_id}/invoke",
        responses={
            **_ERRORS,
            200: {"description": "The handler's return value as JSON"},
            202: {"description": "Queued (X-Invocation-Type: Event); data.invocationId"},
            409: {"description": "Function not ready"},
            413: {"description": "Event over 6 MB"},
            429: {"description": "Throttled or paused"},
            500: {"description": "Handler error or out of memory"},
            504: {"description": "Timed out"},
        },
        openapi_extra={
            "parameters": [
                {
                    "name": "X-Invocation-Type",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "enum": ["RequestResponse", "Event"]},
                    "description": "Event queues the invocation and answers 202 once it is stored",
                }
            ],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {}}},
            },
        },
    )
    async def invoke_function(request: Request, function_id: str) -> Response:
        tenant = tenant_of(request)
        record = functions.get(tenant.id, function_id)
        # The server handles this path with api/invoke.py before FastAPI sees it, except for
        # queued invokes; this route documents it and serves apps built without that front.
        queued = is_event_invocation(request)
        body = await read_body(request, MAX_EVENT_BYTES, "the invocation payload")
        event = event_from_body(body)
        if queued:
            return await accept_event(platform, record, event)
        result = await functions.invoke(record, request_id_var.get(), event)
        status, headers = result_status(result)
        return JSONBytes(result.body, status_code=status, headers=headers)

    @router.get("/functions/{function_id}/logs", responses=_ERRORS)
    async def function_logs(
        request: Request,
        function_id: str,
        requestId: str | None = None,  # noqa: N803 - the API's query parameter name
        since: str | None = None,
        until: str | None = None,
        limit: str = "1000",
        follow: str = "false",
    ) -> Response:
        tenant = tenant_of(request)
        record = functions.get(tenant.id, function_id)
        size = _int_param("limit", limit, 1, 10_000)
        start = _time_param("since", since)
        end = _time_param("until", until)
        if _bool_param("follow", follow):
            query = LogQuery(record.id, requestId or None, start, end, size)
            after = _last_event_id(request.headers.get("last-event-id"))
            return StreamingResponse(
                follow_logs(platform, request, query, after),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        await platform.records.flush()
        logs = platform.store.query_logs(
            record.id, request_id=requestId, since=start, until=end, limit=size
        )
        reports = platform.store.query_reports(
            record.id, request_id=requestId, since=start, until=end, limit=size
        )
        return data_response(
            {
                "logs": [log_json(i, r) for i, r in logs],
                "reports": [report_json(r) for r in reports],
            }
        )

    return router


async def read_function_form(
    request: Request, *, require_code: bool
) -> tuple[dict[str, str], UploadFile | None]:
    """Parse a multipart function form into text fields and the code file."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            f"Content-Type {content_type or '(none)'!r} is not supported; send multipart/form-data "
            "(curl -F name=... -F code=@code.zip)"
        )
    limit_body(
        request,
        MAX_UPLOAD_BYTES + _FORM_OVERHEAD,
        "the request",
        f"code is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; remove files the function "
        "does not need",
    )
    try:
        form = await request.form(max_files=1, max_fields=len(TEXT_FIELDS) + 1)
    except RocketstackError:
        raise
    except Exception as error:  # multipart parser errors of Starlette and python-multipart
        raise InvalidParameter(f"the multipart form could not be read: {error}") from error
    fields: dict[str, str] = {}
    code: UploadFile | None = None
    for key, value in form.multi_items():
        if key == "code":
            if not isinstance(value, UploadFile):
                raise InvalidParameter(
                    "code must be a file field with the ZIP, e.g. -F code=@dist.zip (note the @)"
                )
            if code is not None:
                raise InvalidParameter("code is given twice; send one ZIP")
            code = value
            continue
        if key not in TEXT_FIELDS:
            raise InvalidParameter(
                f"unknown field {key!r}; the supported fields are code, {', '.join(TEXT_FIELDS)}"
            )
        if isinstance(value, UploadFile):
            raise InvalidParameter(f"{key} must be a text field, not a file")
        if key in fields:
            raise InvalidParameter(f"{key} is given twice; send it once")
        fields[key] = value
    if code is None and require_code:
        raise InvalidParameter("code is required; attach the ZIP with -F code=@dist.zip")
    return fields, code


def _int_param(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidParameter(f"{name} {value!r} is not a whole number; use {low}-{high}") from None
    if not low <= number <= high:
        raise InvalidParameter(f"{name} {number} is out of range; use {low}-{high}")
    return number


def _bool_param(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise InvalidParameter(f"{name} {value!r} is not a boolean; use true or false")


def _last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(
            f"Last-Event-ID {value!r} is not a log record id; send the id of the last event "
            "received, or omit the header"
        ) from None


def _time_param(name: str, value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds) or not 0 <= seconds < 253402300800:
            raise InvalidParameter(
                f"{name} {value!r} is not a time; use ISO 8601 (2026-01-31T12:00:00Z) or "
                "epoch seconds between 0 and year 9999"
            )
        return seconds
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParameter(
            f"{name} {value!r} is not a time; use ISO 8601 (2026-01-31T12:00:00Z) or epoch seconds"
        ) from None
