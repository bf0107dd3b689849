"""The published OpenAPI document: FastAPI's generated one, completed in one place with the
response shapes, the error envelope of every error status, and Bearer authentication.

Operations listed in `_OPERATIONS` get exactly the responses listed there; any other /v1
operation keeps its declared responses, with the error envelope and 401 added."""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_INTEGER = {"type": ["integer", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "requestId": {"type": "string"},
            "error": _object(
                {
                    "code": {
                        "type": "string",
                        "description": "Stable error code, e.g. ResourceNotFound",
                    },
                    "message": {"type": "string", "description": "What failed and what to do"},
                }
            ),
        }
    ),
    "FunctionError": _object(
        {
            "errorType": {
                "type": "string",
                "description": "e.g. TypeError, TimeoutError, OutOfMemoryError",
            },
            "errorMessage": {"type": "string"},
            "stackTrace": {"type": "array", "items": {"type": "string"}},
        },
        required=["errorType", "errorMessage"],
    ),
    "Function": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "runtime": {"type": "string", "enum": ["nodejs20.x", "python3.12"]},
            "handler": {"type": "string"},
            "memoryMb": {"type": "integer"},
            "timeoutSeconds": {"type": "integer"},
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
            "reservedConcurrency": _NULLABLE_INTEGER,
            "description": {"type": "string"},
            "isPublic": {"type": "boolean"},
            "publicMethod": {
                "type": ["string", "null"],
                "enum": ["GET", "POST", "PATCH", "DELETE", None],
            },
            "publicUrl": _NULLABLE_STRING,
            "status": {"type": "string", "enum": ["creating", "ready", "failed"]},
            "statusReason": _NULLABLE_STRING,
            "lastUpdateStatus": _NULLABLE_STRING,
            "lastUpdateStatusReason": _NULLABLE_STRING,
            "version": {"type": "integer"},
            "codeSha256": {"type": "string"},
            "codeSize": {"type": "integer"},
            "createdAt": {"type": "string"},
            "updatedAt": {"type": "string"},
        }
    ),
    "FunctionCreated": _object(
        {"resourceId": {"type": "string"}, "status": {"type": "string", "enum": ["creating"]}}
    ),
    "InvocationQueued": _object(
        {"invocationId": {"type": "string"}, "status": {"type": "string", "enum": ["queued"]}}
    ),
    "FunctionList": _object(
        {"items": {"type": "array", "items": _ref("Function")}, "nextCursor": _NULLABLE_STRING}
    ),
    "FunctionDeleted": _object(
        {"resourceId": {"type": "string"}, "deleted": {"type": "boolean", "enum": [True]}}
    ),
    "LogLine": _object(
        {
            "id": {"type": "integer"},
            "timestamp": {"type": "string"},
            "requestId": {"type": "string"},
            "stream": {"type": "string"},
            "message": {"type": "string"},
        }
    ),
    "Report": _object(
        {
            "timestamp": {"type": "string"},
            "requestId": {"type": "string"},
            "version": {"type": "integer"},
            "durationMs": {"type": "number"},
            "billedDurationMs": {"type": "integer"},
            "initDurationMs": _NULLABLE_NUMBER,
            "memorySizeMb": {"type": "integer"},
            "maxMemoryUsedMb": _NULLABLE_NUMBER,
            "outcome": {"type": "string"},
        }
    ),
    "Logs": _object(
        {
            "logs": {"type": "array", "items": _ref("LogLine")},
            "reports": {"type": "array", "items": _ref("Report")},
        }
    ),
    "ApiKey": _object(
        {
            "id": {"type": "string"},
            "prefix": {"type": "string", "description": "The key's first characters"},
            "createdAt": {"type": "string"},
            "revokedAt": _NULLABLE_STRING,
        }
    ),
    "CreatedApiKey": _object(
        {
            "id": {"type": "string"},
            "prefix": {"type": "string"},
            "key": {"type": "string", "description": "The key itself, returned only here"},
            "createdAt": {"type": "string"},
            "revokedAt": {"type": "null"},
        }
    ),
    "ApiKeyList": _object({"items": {"type": "array", "items": _ref("ApiKey")}}),
    "TenantCreated": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "publicToken": {"type": "string"},
            "publicBaseUrl": {"type": "string"},
            "apiKey": {
                "type": "string",
                "description": "The tenant's first API key, returned only here",
            },
            "createdAt": {"type": "string"},
        }
    ),
    "Health": _object(
        {
            "status": {"type": "string", "enum": ["ok"]},
            "version": {"type": "string"},
            "runtimes": {
                "type": "object",
                "additionalProperties": _object(
                    {"available": {"type": "boolean"}, "version": _NULLABLE_STRING}
                ),
            },
        }
    ),
}

_REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "Id of this request; quote it when reporting a problem",
        "schema": {"type": "string"},
    }
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": copy.deepcopy(_REQUEST_ID_HEADER),
        "content": {"application/json": {"schema": schema}},
    }


def _data(name: str, description: str) -> dict[str, Any]:
    envelope = _object({"requestId": {"type": "string"}, "data": _ref(name)})
    return _json(envelope, description)


def _event(kind: str, data_schema: str, *, with_id: bool) -> dict[str, Any]:
    """Schema of one server-sent event, whose data is a JSON object of `data_schema`."""
    properties: dict[str, Any] = {
        "event": {"const": kind},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": _ref(data_schema),
        },
    }
    if with_id:
        properties["id"] = {"type": "string", "pattern": "^[0-9]+$"}
    required = ["event", "data", "id"] if with_id else ["event", "data"]
    return _object(properties, required=required)


def _with_event_stream(response: dict[str, Any], description: str) -> dict[str, Any]:
    response["description"] += f". {description}"
    events = {
        "oneOf": [_event("log", "LogLine", with_id=True), _event("report", "Report", with_id=False)]
    }
    response["content"]["text/event-stream"] = {"schema": events}
    return response


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_UNAUTHORIZED = "Missing, invalid or revoked API key"
_INVALID = "Invalid input; the message names the field or parameter and the rule"
_NO_FUNCTION = "No function with this id in the caller's tenant"

_OPERATIONS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("post", "/v1/functions"): {
        "202": _data("FunctionCreated", "Accepted; poll the function until status is ready"),
        "400": _error(_INVALID),
        "401": _error(_UNAUTHORIZED),
        "409": _error("A function with this name exists in the tenant"),
        "413": _error("The request is over the upload limit (50 MB of code)"),
        "415": _error("The body is not multipart/form-data"),
    },
    ("get", "/v1/functions"): {
        "200": _data("FunctionList", "The tenant's functions, newest first"),
        "400": _error(_INVALID),
        "401": _error(_UNAUTHORIZED),
    },
    ("get", "/v1/functions/{function_id}"): {
        "200": _data("Function", "The function"),
        "401": _error(_UNAUTHORIZED),
        "404": _error(_NO_FUNCTION),
    },
    ("delete", "/v1/functions/{function_id}"): {
        "200": _data("FunctionDeleted", "Deleted with its code, instances and logs"),
        "401": _error(_UNAUTHORIZED),
        "404": _error(_NO_FUNCTION),
    },
    ("post", "/v1/functions/{function_id}/invoke"): {
        "200": _json({}, "The handler's return value as JSON"),
        "202": _data(
            "InvocationQueued",
            "Queued (X-Invocation-Type: Event) once the event is stored durably",
        ),
        "400": _error("The body is not JSON, or Content-Length is not a number"),
        "401": _error(_UNAUTHORIZED),
        "404": _error(_NO_FUNCTION),
        "409": _error("The function is not ready (code FunctionNotReady)"),
        "413": _error("The event is over 6 MB"),
        "429": _error("Throttled by reserved concurrency, or paused (code FunctionPaused)"),
        "500": _json(
            {"anyOf": [_ref("FunctionError"), _ref("Error")]},
            "The handler raised an error or ran out of memory (header "
            "X-Rocketstack-Function-Error: Unhandled, FunctionError body)",
        ),
        "503": _error("The function's runtime is unavailable on this server"),
        "504": _json(_ref("FunctionError"), "The handler timed out (errorType TimeoutError)"),
    },
    ("get", "/v1/functions/{function_id}/logs"): {
        "200": _with_event_stream(
            _data("Logs", "Log lines (oldest first) and one report per invocation"),
            "With follow=true: server-sent events, one `log` event per log line (its id is "
            "the event id) and one `report` event per invocation, until the client leaves",
        ),
        "400": _error(_INVALID),
        "401": _error(_UNAUTHORIZED),
        "404": _error(_NO_FUNCTION),
    },
    ("post", "/v1/keys"): {
        "201": _data("CreatedApiKey", "A new API key of the caller's tenant"),
        "401": _error(_UNAUTHORIZED),
    },
    ("get", "/v1/keys"): {
        "200": _data("ApiKeyList", "The caller's tenant's keys, revoked ones included"),
        "401": _error(_UNAUTHORIZED),
    },
    ("delete", "/v1/keys/{key_id}"): {
        "200": _data("ApiKey", "The key, now revoked (revoking twice is not an error)"),
        "401": _error(_UNAUTHORIZED),
        "404": _error("No key with this id or prefix in the caller's tenant"),
        "409": _error("The prefix matches several keys, or this is the tenant's last active key"),
    },
    ("post", "/v1/tenants"): {
        "201": _data("TenantCreated", "The new tenant and its first API key"),
        "400": _error(_INVALID),
        "401": _error(_UNAUTHORIZED),
        "403": _error("Only a key of the default tenant may create tenants"),
        "409": _error("A tenant with this name exists"),
        "413": _error("The body is over 64 KB"),
    },
    ("get", "/v1/schedules"): {
        "200": _json(
            _object({"requestId": {"type": "string"}, "data": {"type": "object"}}),
            "The tenant's schedules: data.items",
        ),
        "401": _error(_UNAUTHORIZED),
    },
    ("get", "/healthz"): {
        "200": _json(_ref("Health"), "The server is up; which runtimes are available"),
    },
}

# Links tell a client (and the fuzzer's stateful phase) which response value feeds which
# later request: (method, path, status) -> {link name: (method, path, parameter, value)}.
_FUNCTION_ID = "$response.body#/data/resourceId"
_LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str, str]]] = {
    ("post", "/v1/functions", "202"): {
        "GetFunction": ("get", "/v1/functions/{function_id}", "function_id", _FUNCTION_ID),
        "InvokeFunction": (
            "post",
            "/v1/functions/{function_id}/invoke",
            "function_id",
            _FUNCTION_ID,
        ),
        "GetFunctionLogs": (
            "get",
            "/v1/functions/{function_id}/logs",
            "function_id",
            _FUNCTION_ID,
        ),
        "DeleteFunction": ("delete", "/v1/functions/{function_id}", "function_id", _FUNCTION_ID),
    },
    ("post", "/v1/keys", "201"): {
        "RevokeKey": ("delete", "/v1/keys/{key_id}", "key_id", "$response.body#/data/id"),
    },
}

# Query parameters as the routes read them; FastAPI declares `limit` as a string because the
# route parses it itself, so the document states its real type and range.
_PARAMETERS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("get", "/v1/functions", "limit"): {
        "description": "Functions per page",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
    ("get", "/v1/functions", "cursor"): {
        "description": "The nextCursor of the previous page; leave out for the first page",
    },
    ("get", "/v1/functions/{function_id}/logs", "requestId"): {
        "description": "Only the records of this invocation",
    },
    ("get", "/v1/functions/{function_id}/logs", "since"): {
        "description": "Only records at or after this time: ISO 8601 or epoch seconds",
    },
    ("get", "/v1/functions/{function_id}/logs", "until"): {
        "description": "Only records at or before this time: ISO 8601 or epoch seconds",
    },
    ("get", "/v1/functions/{function_id}/logs", "limit"): {
        "description": "Maximum log lines, and maximum reports, returned",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
    },
    ("get", "/v1/functions/{function_id}/logs", "follow"): {
        "description": "Keep the response open and send new records as server-sent events",
        "schema": {"type": "boolean", "default": False},
    },
}

# Parameters a route reads from the request itself, so FastAPI cannot see them.
_EXTRA_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/v1/functions/{function_id}/logs"): [
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "description": "With follow=true: resume after the log record with this id",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    ],
}


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """Add schemas, error envelopes and security to a generated OpenAPI document."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(SCHEMAS))
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: Authorization: Bearer YOUR_API_KEY",
        }
    }
    paths = document.get("paths", {})
    for path, operations in paths.items():
        for method, operation in operations.items():
            _complete_operation(method, path, operation)
    _add_links(paths)
    if not schemas:
        components.pop("schemas")
    return document


def _complete_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    known = _OPERATIONS.get((method, path))
    if known is not None:
        operation["responses"] = copy.deepcopy(known)
    elif path.startswith("/v1/"):
        responses.pop("422", None)
        responses.setdefault("401", {"description": _UNAUTHORIZED})
        for status, response in responses.items():
            if status[0] in "45" and "content" not in response:
                response["content"] = {"application/json": {"schema": _ref("Error")}}
    if path.startswith("/v1/"):
        operation["security"] = [{"bearerAuth": []}]
    declared = {parameter.get("name") for parameter in operation.get("parameters", [])}
    for extra in _EXTRA_PARAMETERS.get((method, path), []):
        if extra["name"] not in declared:
            operation.setdefault("parameters", []).append(copy.deepcopy(extra))
    for parameter in operation.get("parameters", []):
        override = _PARAMETERS.get((method, path, parameter.get("name", "")))
        if override is not None:
            parameter.update(copy.deepcopy(override))


def _add_links(paths: dict[str, Any]) -> None:
    for (method, path, status), links in _LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for name, (target_method, target_path, parameter, value) in links.items():
            target = paths.get(target_path, {}).get(target_method)
            if target is None or "operationId" not in target:
                continue
            response.setdefault("links", {})[name] = {
                "operationId": target["operationId"],
                "parameters": {parameter: value},
            }


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete_document(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Return the methods the document lists for `path`, for the Allow header of a 405.

    Starlette's own 405 names only the methods of the first route that matches the path,
    and FastAPI makes one route per method, so it would leave out the others.
    """
    for template, operations in app.openapi().get("paths", {}).items():
        literal_parts = re.split(r"\{[^/}]+\}", template)
        pattern = "[^/]+".join(re.escape(part) for part in literal_parts)
        if re.fullmatch(pattern, path):
            return sorted(method.upper() for method in operations)
    return []
