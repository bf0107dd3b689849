"""Versions, rollback, queued invocations and schedules: each operation as a request and a
parser of its `data`, so `Client` and `AsyncClient` share them and differ only in I/O."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from rocketstack.client.base import Call
from rocketstack.client.models import Deployment

T = TypeVar("T")

FINISHED_STATUSES = ("succeeded", "failed")


@dataclass(frozen=True)
class Operation(Generic[T]):
    """A request and the function that turns its response's `data` into a result."""

    call: Call
    parse: Callable[[Any], T]


@dataclass(frozen=True)
class QueuedInvocation:
    """The 202 response to a queued invoke or a schedule run."""

    invocation_id: str
    status: str


@dataclass(frozen=True)
class Invocation:
    """One recorded invocation; `result` is set by `get_invocation` only."""

    invocation_id: str
    function_id: str
    type: str
    trigger: str | None
    status: str
    status_reason: str | None
    attempts: int
    request_ids: list[str]
    error: Any
    result: Any
    created_at: str | None
    finished_at: str | None
    duration_ms: float | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Invocation:
        return cls(
            invocation_id=data["invocationId"],
            function_id=data["functionId"],
            type=data.get("type", ""),
            trigger=data.get("trigger"),
            status=data["status"],
            status_reason=data.get("statusReason"),
            attempts=int(data.get("attempts") or 0),
            request_ids=list(data.get("requestIds") or []),
            error=data.get("error"),
            result=data.get("result"),
            created_at=data.get("createdAt"),
            finished_at=data.get("finishedAt"),
            duration_ms=data.get("durationMs"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class InvocationPage:
    items: list[Invocation]
    next_cursor: str | None


@dataclass(frozen=True)
class Version:
    """One immutable version: its code hash and configuration."""

    version: int
    current: bool
    source: str | None
    code_sha256: str | None
    runtime: str | None
    handler: str | None
    created_at: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Version:
        return cls(
            version=data["version"],
            current=bool(data.get("current")),
            source=data.get("source"),
            code_sha256=data.get("codeSha256"),
            runtime=data.get("runtime"),
            handler=data.get("handler"),
            created_at=data.get("createdAt"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Schedule:
    id: str
    function_id: str
    expression: str
    payload: Any
    enabled: bool
    description: str
    next_run_at: str | None
    last_run_at: str | None
    last_invocation_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        return cls(
            id=data["id"],
            function_id=data["functionId"],
            expression=data["expression"],
            payload=data.get("payload"),
            enabled=bool(data.get("enabled")),
            description=data.get("description") or "",
            next_run_at=data.get("nextRunAt"),
            last_run_at=data.get("lastRunAt"),
            last_invocation_id=data.get("lastInvocationId"),
            raw=dict(data),
        )


def _queued(data: Mapping[str, Any]) -> QueuedInvocation:
    return QueuedInvocation(data["invocationId"], data.get("status", "queued"))


def _schedule_fields(
    expression: str | None, payload: Any, enabled: bool | None, description: str | None
) -> dict[str, Any]:
    fields = {"expression": expression, "enabled": enabled, "description": description}
    body = {key: value for key, value in fields.items() if value is not None}
    if payload is not None:
        body["payload"] = payload
    return body


def invoke_queued(
    function_id: str, event: Any, payload: bytes | None
) -> Operation[QueuedInvocation]:
    if payload is None:
        payload = b"{}" if event is None else json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Invocation-Type": "Event"}
    call = Call("POST", f"/v1/functions/{function_id}/invoke", content=payload, headers=headers)
    return Operation(call, _queued)


def get_invocation(invocation_id: str) -> Operation[Invocation]:
    return Operation(Call("GET", f"/v1/invocations/{invocation_id}"), Invocation.from_json)


def list_invocations(
    function_id: str,
    status: str | None,
    kind: str | None,
    limit: int | None,
    cursor: str | None,
) -> Operation[InvocationPage]:
    params = {"status": status, "type": kind, "cursor": cursor}
    if limit is not None:
        params["limit"] = str(limit)
    call = Call(
        "GET",
        f"/v1/functions/{function_id}/invocations",
        params={key: value for key, value in params.items() if value is not None},
    )

    def parse(data: Any) -> InvocationPage:
        items = [Invocation.from_json(item) for item in data["items"]]
        return InvocationPage(items, data.get("nextCursor"))

    return Operation(call, parse)


def redrive_invocation(invocation_id: str) -> Operation[list[str]]:
    call = Call("POST", f"/v1/invocations/{invocation_id}/redrive")
    return Operation(call, lambda data: list(data["invocationIds"]))


def redrive_function(function_id: str) -> Operation[list[str]]:
    call = Call("POST", f"/v1/functions/{function_id}/invocations/redrive")
    return Operation(call, lambda data: list(data["invocationIds"]))


def list_versions(function_id: str) -> Operation[list[Version]]:
    call = Call("GET", f"/v1/functions/{function_id}/versions")
    return Operation(call, lambda data: [Version.from_json(item) for item in data["items"]])


def get_version(function_id: str, version: int) -> Operation[Version]:
    call = Call("GET", f"/v1/functions/{function_id}/versions/{version}")
    return Operation(call, Version.from_json)


def rollback(function_id: str, version: int) -> Operation[Deployment]:
    call = Call("POST", f"/v1/functions/{function_id}/rollback", json_body={"version": version})
    return Operation(call, lambda data: Deployment(data["resourceId"], data["status"], None))


def create_schedule(
    function_id: str, expression: str, payload: Any, enabled: bool | None, description: str | None
) -> Operation[Schedule]:
    body = _schedule_fields(expression, payload, enabled, description)
    call = Call("POST", f"/v1/functions/{function_id}/schedules", json_body=body)
    return Operation(call, Schedule.from_json)


def list_schedules(function_id: str | None) -> Operation[list[Schedule]]:
    path = f"/v1/functions/{function_id}/schedules" if function_id else "/v1/schedules"
    return Operation(
        Call("GET", path), lambda data: [Schedule.from_json(item) for item in data["items"]]
    )


def get_schedule(schedule_id: str) -> Operation[Schedule]:
    return Operation(Call("GET", f"/v1/schedules/{schedule_id}"), Schedule.from_json)


def update_schedule(
    schedule_id: str,
    expression: str | None,
    payload: Any,
    enabled: bool | None,
    description: str | None,
) -> Operation[Schedule]:
    body = _schedule_fields(expression, payload, enabled, description)
    call = Call("PATCH", f"/v1/schedules/{schedule_id}", json_body=body)
    return Operation(call, Schedule.from_json)


def delete_schedule(schedule_id: str) -> Operation[None]:
    return Operation(Call("DELETE", f"/v1/schedules/{schedule_id}"), lambda data: None)


def run_schedule(schedule_id: str) -> Operation[QueuedInvocation]:
    return Operation(Call("POST", f"/v1/schedules/{schedule_id}/run"), _queued)
