"""The MCP tools for a function's lifecycle: versions and rollback, queued invocations and
their re-drive, and schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from rocketstack.client import AsyncClient
from rocketstack.mcp import lifecycle_api as api
from rocketstack.mcp.arguments import DEPLOY_WAIT_SECONDS, Cursor, FunctionRef, Payload, Wait
from rocketstack.mcp.models import FunctionDetails, LogLine, log_line
from rocketstack.mcp.tools import ClientProvider, resolve, tool_errors

InvocationId = Annotated[
    str, Field(min_length=1, description="The invocation's id, as queue_invocation returns it")
]
ScheduleId = Annotated[
    str, Field(min_length=1, description="The schedule's id, as create_schedule returns it")
]
Expression = Annotated[
    str,
    Field(
        min_length=1,
        description="When to run, in UTC: five-field cron such as '*/5 * * * *' or "
        "'0 9 * * 1-5', or rate(N minutes), rate(N hours), rate(N days)",
    ),
]
ScheduleDescription = Annotated[str | None, Field(max_length=256, description="Free text, at most 256 characters")]


class VersionInfo(BaseModel):
    version: int
    current: bool
    source: str | None = Field(None, description="What made the version: create, update or rollback")
    rolledBackFrom: int | None = None
    codeSha256: str | None = None
    codeSize: int | None = None
    runtime: str | None = None
    handler: str | None = None
    memoryMb: int | None = None
    timeoutSeconds: int | None = None
    env: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    createdAt: str | None = None


class VersionList(BaseModel):
    functionId: str
    functionName: str
    versions: list[VersionInfo] = Field(description="Every version, each with its code hash and settings")


class RollbackResult(FunctionDetails):
    rollbackTo: int = Field(description="The version whose code and settings are current again")


class QueuedInvocation(BaseModel):
    invocationId: str = Field(description="Pass to get_invocation to follow it")
    status: str
    functionId: str
    functionName: str


class InvocationInfo(BaseModel):
    invocationId: str
    functionId: str
    type: str = Field(description="sync or queued")
    trigger: str | None = Field(None, description="api, schedule or redrive")
    status: str = Field(description="queued, running, succeeded or failed")
    statusReason: str | None = None
    attempts: int | None = None
    requestIds: list[str] = Field(default_factory=list, description="One request id per attempt")
    version: int | None = None
    scheduleId: str | None = None
    redriveCount: int | None = None
    result: Any = Field(None, description="The handler's return value, when it succeeded")
    error: dict[str, Any] | None = Field(None, description="errorType, errorMessage and stackTrace, when it failed")
    createdAt: str | None = None
    startedAt: str | None = None
    finishedAt: str | None = None
    nextAttemptAt: str | None = None
    durationMs: float | None = None
    logs: list[LogLine] = Field(default_factory=list, description="Log lines of every attempt")


class InvocationList(BaseModel):
    invocations: list[InvocationInfo]
    nextCursor: str | None = None


class RedriveResult(BaseModel):
    invocationIds: list[str] = Field(description="The failed invocations queued again")
    status: str


class ScheduleInfo(BaseModel):
    id: str
    functionId: str
    expression: str
    payload: Any = None
    enabled: bool
    description: str | None = None
    nextRunAt: str | None = None
    lastRunAt: str | None = None
    lastInvocationId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class ScheduleList(BaseModel):
    schedules: list[ScheduleInfo]


class ScheduleRun(BaseModel):
    invocationId: str = Field(description="Pass to get_invocation to see the run's result")
    status: str
    scheduleId: str


class ScheduleDeleted(BaseModel):
    scheduleId: str
    deleted: bool


def register(server: MCPServer, provide_client: ClientProvider) -> None:
    """Add the version, queued invocation and schedule tools to `server`."""
    tools = _LifecycleTools(provide_client)
    read_only = {"read_only_hint": True, "open_world_hint": False}
    table: list[tuple[Callable[..., Any], str, str, dict[str, bool]]] = [
        (tools.list_function_versions, "List a function's versions",
         ("List every version of a function (each create, update and rollback makes one) with "
         "its code hash and settings, marking the current one."), read_only),
        (tools.rollback_function, "Roll a function back",
         ("Make an earlier version's code and settings current again, as a new version. The "
         "running version keeps serving until the rolled-back one is ready."),
         {"destructive_hint": True, "idempotent_hint": False, "open_world_hint": False}),
        (tools.queue_invocation, "Queue an invocation",
         ("Queue one invocation of a ready function with a JSON payload and return at once "
         "with its invocationId; failures are retried. Follow it with get_invocation."),
         {"destructive_hint": False, "idempotent_hint": False, "open_world_hint": True}),
        (tools.get_invocation, "Get an invocation",
         ("Show one invocation (queued or synchronous): status, result or error, attempts, "
         "timestamps, duration and the log lines of every attempt."), read_only),
        (tools.list_invocations, "List a function's invocations",
         ("List a function's recent invocations of every kind, newest first, optionally only "
         "those with a status (e.g. failed) or type."), read_only),
        (tools.redrive_invocations, "Re-drive failed invocations",
         ("Queue failed queued invocations again with fresh retries: one by invocationId, or "
         "every failed one of a function."),
         {"destructive_hint": False, "idempotent_hint": False, "open_world_hint": True}),
        (tools.create_schedule, "Create a schedule",
         ("Run a function on a clock: a cron expression (UTC) or a rate, with the payload each "
         "run sends as its event. Each run is a queued invocation with trigger 'schedule'."),
         {"destructive_hint": False, "idempotent_hint": False, "open_world_hint": False}),
        (tools.list_schedules, "List schedules",
         ("List the schedules of one function, or of every function of the tenant, with the "
         "next and last run."), read_only),
        (tools.update_schedule, "Change a schedule",
         ("Change a schedule's expression, payload, description, or pause and resume it with "
         "enabled."),
         {"destructive_hint": False, "idempotent_hint": True, "open_world_hint": False}),
        (tools.delete_schedule, "Delete a schedule",
         "Delete a schedule; its past invocations stay listed.",
         {"destructive_hint": True, "idempotent_hint": False, "open_world_hint": False}),
        (tools.run_schedule, "Run a schedule now",
         ("Run a schedule once now, without waiting for its next tick, to test it; returns the "
         "invocationId of the run."),
         {"destructive_hint": False, "open_world_hint": True}),
    ]
    for function, title, description, hints in table:
        annotations = {"read_only_hint": False, **hints}
        server.add_tool(
            function,
            name=function.__name__,
            title=title,
            description=description,
            annotations=ToolAnnotations(title=title, **annotations),
        )


class _LifecycleTools:
    def __init__(self, provide_client: ClientProvider) -> None:
        self.provide_client = provide_client

    async def list_function_versions(
        self, function: FunctionRef, ctx: Context = None  # type: ignore[assignment]
    ) -> VersionList:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                versions = await api.list_versions(client, found.id)
        return VersionList(
            functionId=found.id,
            functionName=found.name,
            versions=[VersionInfo.model_validate(item) for item in versions],
        )

    async def rollback_function(
        self,
        function: FunctionRef,
        version: Annotated[int, Field(ge=1, description="The version to make current again")],
        wait: Wait = True,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> RollbackResult:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                await api.rollback(client, found.id, version)
                if wait:
                    current = await client.wait_until_ready(
                        found.id, timeout=DEPLOY_WAIT_SECONDS, update=True
                    )
                else:
                    current = await client.get_function(found.id)
        return RollbackResult.model_validate({**current.raw, "rollbackTo": version})

    async def queue_invocation(
        self, function: FunctionRef, payload: Payload = None, ctx: Context = None  # type: ignore[assignment]
    ) -> QueuedInvocation:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                queued = await api.queue_invocation(client, found.id, payload)
        return QueuedInvocation(
            invocationId=queued["invocationId"],
            status=queued["status"],
            functionId=found.id,
            functionName=found.name,
        )

    async def get_invocation(
        self, invocationId: InvocationId, ctx: Context = None  # type: ignore[assignment]
    ) -> InvocationInfo:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                invocation = await api.get_invocation(client, invocationId)
                lines = await _attempt_logs(client, invocation)
        return InvocationInfo.model_validate({**invocation, "logs": lines})

    async def list_invocations(
        self,
        function: FunctionRef,
        status: Annotated[
            Literal["queued", "running", "succeeded", "failed"] | None,
            Field(description="Only invocations with this status"),
        ] = None,
        type: Annotated[
            Literal["sync", "queued"] | None, Field(description="Only this kind of invocation")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="Invocations per page, 1-200")] = 50,
        cursor: Cursor = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> InvocationList:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                page = await api.list_invocations(
                    client, found.id, status=status, kind=type, limit=limit, cursor=cursor
                )
        return InvocationList(
            invocations=[InvocationInfo.model_validate(item) for item in page["items"]],
            nextCursor=page.get("nextCursor"),
        )

    async def redrive_invocations(
        self,
        function: Annotated[
            str | None, Field(description="Re-drive every failed queued invocation of this function (name or id)")
        ] = None,
        invocationId: Annotated[
            str | None, Field(description="Re-drive this one failed queued invocation")
        ] = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> RedriveResult:
        if (function is None) == (invocationId is None):
            raise ToolError("pass either function or invocationId (exactly one of them)")
        async with self.provide_client(ctx) as client:
            with tool_errors():
                if invocationId is not None:
                    data = await api.redrive_invocation(client, invocationId)
                else:
                    found = await resolve(client, function or "")
                    data = await api.redrive_function(client, found.id)
        return RedriveResult.model_validate(data)

    async def create_schedule(
        self,
        function: FunctionRef,
        expression: Expression,
        payload: Annotated[Any, Field(description="The event each run sends: any JSON value; default {}")] = None,
        enabled: Annotated[bool, Field(description="false creates the schedule paused")] = True,
        description: ScheduleDescription = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> ScheduleInfo:
        body: dict[str, Any] = {"expression": expression, "enabled": enabled}
        if payload is not None:
            body["payload"] = payload
        if description is not None:
            body["description"] = description
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                schedule = await api.create_schedule(client, found.id, body)
        return ScheduleInfo.model_validate(schedule)

    async def list_schedules(
        self,
        function: Annotated[
            str | None, Field(description="Only this function's schedules (name or id); omit for all")
        ] = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> ScheduleList:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                function_id = (await resolve(client, function)).id if function else None
                items = await api.list_schedules(client, function_id)
        return ScheduleList(schedules=[ScheduleInfo.model_validate(item) for item in items])

    async def update_schedule(
        self,
        scheduleId: ScheduleId,
        expression: Annotated[str | None, Field(description="A new cron expression or rate")] = None,
        payload: Annotated[Any, Field(description="A new event for each run")] = None,
        enabled: Annotated[bool | None, Field(description="false pauses the schedule, true resumes it")] = None,
        description: ScheduleDescription = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> ScheduleInfo:
        changes = {"expression": expression, "payload": payload, "enabled": enabled, "description": description}
        body = {key: value for key, value in changes.items() if value is not None}
        if not body:
            raise ToolError("nothing to change; pass expression, payload, enabled or description")
        async with self.provide_client(ctx) as client:
            with tool_errors():
                schedule = await api.update_schedule(client, scheduleId, body)
        return ScheduleInfo.model_validate(schedule)

    async def delete_schedule(
        self, scheduleId: ScheduleId, ctx: Context = None  # type: ignore[assignment]
    ) -> ScheduleDeleted:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                data = await api.delete_schedule(client, scheduleId)
        return ScheduleDeleted.model_validate(data)

    async def run_schedule(
        self, scheduleId: ScheduleId, ctx: Context = None  # type: ignore[assignment]
    ) -> ScheduleRun:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                data = await api.run_schedule(client, scheduleId)
        return ScheduleRun.model_validate(data)


async def _attempt_logs(client: AsyncClient, invocation: dict[str, Any]) -> list[LogLine]:
    lines: list[LogLine] = []
    for request_id in invocation.get("requestIds") or []:
        logs = await client.logs(invocation["functionId"], request_id=request_id)
        lines.extend(log_line(line) for line in logs.lines)
    return lines
