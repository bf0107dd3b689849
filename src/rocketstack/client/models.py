"""Typed results of the SDK, built from the API's JSON; each keeps the fields it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Function:
    """A function as `GET /v1/functions/{id}` returns it; `raw` keeps every field."""

    id: str
    name: str
    runtime: str
    handler: str
    status: str
    memory_mb: int | None = None
    timeout_seconds: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    description: str = ""
    is_public: bool = False
    public_method: str | None = None
    public_url: str | None = None
    status_reason: str | None = None
    last_update_status: str | None = None
    last_update_status_reason: str | None = None
    version: int | None = None
    code_sha256: str | None = None
    code_size: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Function:
        return cls(
            id=data["id"],
            name=data["name"],
            runtime=data["runtime"],
            handler=data["handler"],
            status=data["status"],
            memory_mb=data.get("memoryMb"),
            timeout_seconds=data.get("timeoutSeconds"),
            env=dict(data.get("env") or {}),
            reserved_concurrency=data.get("reservedConcurrency"),
            description=data.get("description") or "",
            is_public=bool(data.get("isPublic")),
            public_method=data.get("publicMethod"),
            public_url=data.get("publicUrl"),
            status_reason=data.get("statusReason"),
            last_update_status=data.get("lastUpdateStatus"),
            last_update_status_reason=data.get("lastUpdateStatusReason"),
            version=data.get("version"),
            code_sha256=data.get("codeSha256"),
            code_size=data.get("codeSize"),
            created_at=data.get("createdAt"),
            updated_at=data.get("updatedAt"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class FunctionPage:
    items: list[Function]
    next_cursor: str | None


@dataclass(frozen=True)
class Deployment:
    """The 202 response to a create or update: the function id and its status then."""

    resource_id: str
    status: str
    request_id: str | None


@dataclass(frozen=True)
class DeployResult:
    """Result of `deploy`: `action` is "created", "updated" or "unchanged"."""

    function: Function
    action: str
    request_id: str | None


@dataclass(frozen=True)
class FunctionError:
    """The error shape of a failed invocation (handler error, timeout, out of memory)."""

    error_type: str
    error_message: str
    stack_trace: list[str]


@dataclass(frozen=True)
class InvocationResult:
    """One invocation: the handler's return value, or its error, with the request id."""

    request_id: str
    status_code: int
    body: bytes
    payload: Any
    error: FunctionError | None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class LogLine:
    id: int | None
    timestamp: str
    request_id: str
    stream: str
    message: str


@dataclass(frozen=True)
class Report:
    """The report record of one invocation."""

    timestamp: str
    request_id: str
    version: int | None
    duration_ms: float | None
    billed_duration_ms: int | None
    init_duration_ms: float | None
    memory_size_mb: int | None
    max_memory_used_mb: float | None
    outcome: str | None


@dataclass(frozen=True)
class Logs:
    lines: list[LogLine]
    reports: list[Report]


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed: never the key itself, only its first characters."""

    id: str
    prefix: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class CreatedKey:
    """A new API key; `key` is shown only in this response."""

    id: str
    prefix: str
    key: str
    created_at: str


@dataclass(frozen=True)
class Tenant:
    """A new tenant with its first API key, shown only in this response."""

    id: str
    name: str
    public_token: str
    public_base_url: str
    api_key: str
    created_at: str


def logs_from_json(data: Mapping[str, Any]) -> Logs:
    lines = [
        LogLine(
            id=item.get("id"),
            timestamp=item["timestamp"],
            request_id=item["requestId"],
            stream=item.get("stream", "stdout"),
            message=item.get("message", ""),
        )
        for item in data.get("logs", [])
    ]
    reports = [
        Report(
            timestamp=item["timestamp"],
            request_id=item["requestId"],
            version=item.get("version"),
            duration_ms=item.get("durationMs"),
            billed_duration_ms=item.get("billedDurationMs"),
            init_duration_ms=item.get("initDurationMs"),
            memory_size_mb=item.get("memorySizeMb"),
            max_memory_used_mb=item.get("maxMemoryUsedMb"),
            outcome=item.get("outcome"),
        )
        for item in data.get("reports", [])
    ]
    return Logs(lines, reports)


def invocation_from_response(response: httpx.Response) -> InvocationResult:
    request_id = (
        response.headers.get("x-rocketstack-request-id")
        or response.headers.get("x-request-id")
        or ""
    )
    try:
        payload = response.json() if response.content else None
    except ValueError:
        payload = None
    error = None
    if response.headers.get("x-rocketstack-function-error"):
        details = payload if isinstance(payload, dict) else {}
        trace = details.get("stackTrace") or []
        error = FunctionError(
            error_type=str(details.get("errorType") or "Error"),
            error_message=str(details.get("errorMessage") or ""),
            stack_trace=[str(line) for line in trace] if isinstance(trace, list) else [str(trace)],
        )
    return InvocationResult(request_id, response.status_code, response.content, payload, error)
