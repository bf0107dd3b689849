"""Routes for changing functions: update (PATCH), the list of versions, and rollback."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from rocketstack.api.envelope import data_response
from rocketstack.api.functions import read_function_form
from rocketstack.api.json_input import read_json_object
from rocketstack.context import request_id_var
from rocketstack.deploy.validation import TEXT_FIELDS, parse_form_fields
from rocketstack.errors import InvalidParameter, NotFound, UnsupportedMediaType
from rocketstack.platform import Platform
from rocketstack.store.models import FunctionRecord, Tenant
from rocketstack.store.versions import VersionRecord

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input; the message names the field and the rule"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Function not found in this tenant"},
}
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    409: {
        "description": "The function is still being created, an update is in progress, "
        "or the name is taken"
    },
}

_FIELD_SCHEMA: dict[str, Any] = {
    "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
    "runtime": {"type": "string", "enum": ["nodejs20.x", "python3.12"]},
    "handler": {"type": "string", "example": "index.handler"},
    "memoryMb": {"type": "integer", "minimum": 128, "maximum": 10240},
    "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 60},
    "reservedConcurrency": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
    "description": {"type": "string", "maxLength": 256},
    "publicMethod": {"type": "string", "enum": ["GET", "POST", "PATCH", "DELETE"]},
    "maxRetryAttempts": {"type": "integer", "minimum": 0, "maximum": 5},
    "maxEventAgeSeconds": {"type": "integer", "minimum": 1, "maximum": 86400},
}
_UPDATE_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "New code and/or fields, as for create; every part is optional",
                    "properties": {
                        **_FIELD_SCHEMA,
                        "code": {"type": "string", "format": "binary"},
                        "env": {"type": "string", "description": "JSON object of strings"},
                        "isPublic": {"type": "string", "enum": ["true", "false"]},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Configuration alone; new code needs multipart/form-data",
                    "properties": {
                        **_FIELD_SCHEMA,
                        "env": {"type": "object", "additionalProperties": {"type": "string"}},
                        "isPublic": {"type": "boolean"},
                    },
                }
            },
        },
    }
}
_ROLLBACK_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["version"],
                    "properties": {"version": {"type": "integer", "minimum": 1}},
                }
            }
        },
    }
}


def build_updates_router(platform: Platform, authenticate: Any) -> APIRouter:
    router = APIRouter(prefix="/v1")
    functions = platform.functions
    updater = platform.updater

    def function_of(request: Request, function_id: str) -> FunctionRecord:
        tenant: Tenant = authenticate(request)
        return functions.get(tenant.id, function_id)

    @router.patch(
        "/functions/{function_id}",
        status_code=202,
        openapi_extra=_UPDATE_SCHEMA,
        responses={
            **_CHANGE_ERRORS,
            202: {"description": "Update accepted; lastUpdateStatus is InProgress until it ends"},
            413: {"description": "Code too large"},
            415: {"description": "Neither multipart/form-data nor application/json"},
        },
    )
    async def update_function(request: Request, function_id: str) -> Response:
        record = function_of(request, function_id)
        content_type = request.headers.get("content-type", "")
        code = None
        if content_type.startswith("multipart/form-data"):
            fields, code = await read_function_form(request, require_code=False)
        elif content_type.startswith("application/json"):
            fields = _form_from_json(await read_json_object(request, '{"memoryMb": 512}'))
        else:
            raise UnsupportedMediaType(
                f"Content-Type {content_type or '(none)'!r} is not supported; send new code as "
                "multipart/form-data (curl -F code=@dist.zip) or configuration alone as "
                "application/json"
            )
        config = parse_form_fields(fields, require=False, runtime_hint=record.runtime)
        try:
            updated = await updater.update(
                record, config, code.file if code is not None else None, request_id_var.get()
            )
        finally:
            if code is not None:
                await code.close()
        return data_response(_accepted(updated), status=202)

    @router.get("/functions/{function_id}/versions", responses=_ERRORS)
    async def list_versions(request: Request, function_id: str) -> Response:
        record = function_of(request, function_id)
        updater.ensure_current_version(record)
        items = platform.versions.list_versions(record.id)
        return data_response({"items": [version_json(v, record) for v in items]})

    @router.get("/functions/{function_id}/versions/{version}", responses=_ERRORS)
    async def get_version(request: Request, function_id: str, version: int) -> Response:
        record = function_of(request, function_id)
        updater.ensure_current_version(record)
        found = platform.versions.get(record.id, version)
        if found is None:
            raise _no_version(record, version)
        return data_response(version_json(found, record))

    @router.post(
        "/functions/{function_id}/rollback",
        status_code=202,
        openapi_extra=_ROLLBACK_SCHEMA,
        responses={
            **_CHANGE_ERRORS,
            202: {
                "description": "Rollback accepted; it makes a new version with the code and "
                "configuration of the version named"
            },
            404: {"description": "Function or version not found"},
        },
    )
    async def rollback_function(request: Request, function_id: str) -> Response:
        record = function_of(request, function_id)
        body = await read_json_object(request, '{"version": 1}')
        unknown = sorted(set(body) - {"version"})
        if unknown:
            raise InvalidParameter(f'unknown field {unknown[0]!r}; send {{"version": N}}')
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidParameter(
                "version must be a version number (1 or more), not "
                f"{orjson.dumps(version).decode()}; "
                f"list them with GET /v1/functions/{record.id}/versions"
            )
        updated = updater.rollback(record, version, request_id_var.get())
        return data_response({**_accepted(updated), "rollbackTo": version}, status=202)

    return router


def _accepted(record: FunctionRecord) -> dict[str, Any]:
    return {
        "resourceId": record.id,
        "status": record.status,
        "lastUpdateStatus": record.last_update_status,
        "version": record.version,
    }


def _no_version(record: FunctionRecord, version: int) -> NotFound:
    return NotFound(
        f"function {record.name!r} has no version {version}; list its versions with "
        f"GET /v1/functions/{record.id}/versions"
    )


def _form_from_json(body: dict[str, Any]) -> dict[str, str]:
    """Turn a JSON update into the text fields a form would carry, so both are validated
    by the same rules."""
    form: dict[str, str] = {}
    for key, value in body.items():
        if key == "code":
            raise InvalidParameter(
                "code cannot be sent as JSON; send new code as multipart/form-data "
                "(curl -X PATCH -F code=@dist.zip ...)"
            )
        if key not in TEXT_FIELDS:
            raise InvalidParameter(
                f"unknown field {key!r}; the fields that can change are {', '.join(TEXT_FIELDS)}"
            )
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, (int, str)):
            form[key] = str(value)
        elif isinstance(value, float) and value.is_integer():
            form[key] = str(int(value))
        elif key == "env" and isinstance(value, dict):
            form[key] = orjson.dumps(value).decode()
        else:
            raise InvalidParameter(
                f"{key} {orjson.dumps(value).decode()} has the wrong type; "
                + ("send a JSON object of strings" if key == "env" else "send a string or a number")
            )
    return form


def version_json(version: VersionRecord, record: FunctionRecord) -> dict[str, Any]:
    return {
        "version": version.version,
        "current": version.version == record.version,
        "source": version.source,
        "rolledBackFrom": version.rolled_back_from,
        "codeSha256": version.code_sha256,
        "codeSize": version.code_size,
        "runtime": version.runtime,
        "handler": version.handler,
        "memoryMb": version.memory_mb,
        "timeoutSeconds": version.timeout_seconds,
        "env": version.env,
        "description": version.description,
        "createdAt": version.created_at,
    }
