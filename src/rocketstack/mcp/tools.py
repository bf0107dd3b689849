"""The MCP tools for functions: deploy, list, get, delete, invoke and logs. Each tool gets its
API client from a provider, so the same tools serve stdio (one API key from the
environment) and streamable HTTP (the caller's API key)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Annotated, Any, Literal

import anyio
import orjson
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from rocketstack.mcp import bundle
from rocketstack.mcp.backend import Api, ApiError, ApiUnreachable
from rocketstack.mcp.models import (
    DeleteResult,
    DeployResult,
    FunctionDetails,
    FunctionError,
    FunctionList,
    FunctionSummary,
    InvocationReport,
    InvokeResult,
    LogLine,
    LogsResult,
)

ApiProvider = Callable[[Context], AbstractAsyncContextManager[Api]]

# How long deploy_function waits for a create or update to finish, and how often it looks.
DEPLOY_WAIT_SECONDS = 120.0
_POLL_SECONDS = 0.2
_LISTED_FILES = 200

FunctionRef = Annotated[
    str,
    Field(
        min_length=1,
        description="The function's name (as given to deploy_function) or its id (fn_...)",
    ),
]
Name = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="Function name: 1-64 characters, starting with a letter; letters, numbers, "
        "hyphens and underscores. An existing function of this name is updated.",
    ),
]
Runtime = Annotated[
    Literal["nodejs20.x", "python3.12"], Field(description="The runtime the code is written for")
]
Handler = Annotated[
    str,
    Field(
        min_length=3,
        description="Entry point as fileName.functionName: 'index.handler' runs the export "
        "'handler' of index.js (or .mjs/.cjs) for Node.js; 'handler.handler' runs "
        "def handler(event, context) in handler.py for Python. The file must be at the code root.",
    ),
]


class BinaryFile(BaseModel):
    """A file given as base64, for content that is not UTF-8 text."""

    model_config = ConfigDict(extra="forbid")
    base64: str = Field(description="The file's bytes, base64-encoded")


Files = Annotated[
    dict[str, str | BinaryFile] | None,
    Field(
        description="The code as {relative path: file content}. Content is the file's UTF-8 "
        'text, or {"base64": "..."} for binary files. The entry file named by handler must '
        'be at the root, e.g. {"index.js": "export const handler = async (event) => ..."}. '
        "Required to create a function; omit it to change only settings of an existing one.",
    ),
]
LocalPath = Annotated[
    str | None,
    Field(
        description="Instead of files: the absolute path of a local folder (its contents become "
        "the code root; .git, __pycache__, .venv and .env files are left out) or of a local "
        "ZIP file with the entry file at its root.",
    ),
]
MemoryMb = Annotated[int | None, Field(ge=128, le=10240, description="Memory limit in MB, 128-10240; default 256")]
TimeoutSeconds = Annotated[int | None, Field(ge=1, le=60, description="Time limit per invocation in seconds, 1-60; default 10")]
Env = Annotated[
    dict[str, str] | None,
    Field(description='Environment variables as {"KEY": "value"}; replaces the whole set on update'),
]
ReservedConcurrency = Annotated[
    int | None,
    Field(ge=0, le=100, description="0 pauses the function, 1-100 caps concurrent invocations; omit to leave unreserved or unchanged"),
]
Description = Annotated[str | None, Field(max_length=256, description="Free text, at most 256 characters")]
IsPublic = Annotated[
    bool | None,
    Field(description="true gives the function a public URL that anyone can call without an API key"),
]
PublicMethod = Annotated[
    Literal["GET", "POST", "PATCH", "DELETE"] | None,
    Field(description="The one HTTP method the public URL accepts; default POST"),
]
Wait = Annotated[
    bool,
    Field(description=f"Wait until the deploy is ready or failed (up to {int(DEPLOY_WAIT_SECONDS)} s); default true"),
]


def register(server: MCPServer, provide_api: ApiProvider, *, local_paths: bool) -> None:
    """Add the function tools to `server`; `local_paths` lets deploy_function read local paths."""
    tools = _Tools(provide_api)
    deploy = tools.deploy_with_path if local_paths else tools.deploy_inline
    server.add_tool(
        deploy,
        name="deploy_function",
        title="Deploy a function",
        description=(
            "Create a function, or update the function of the same name, from source code, and "
            "wait until it is ready. Give the code as inline files"
            + (" or a local folder/ZIP path" if local_paths else "")
            + ". Returns the function's status, statusReason (why a deploy failed, in words to "
            "act on) and publicUrl. A failed deploy is reported as an error that quotes the "
            "reason; fix the code or settings and call this tool again."
        ),
        annotations=ToolAnnotations(
            title="Deploy a function", read_only_hint=False, destructive_hint=True,
            idempotent_hint=True, open_world_hint=False,
        ),
    )
    server.add_tool(
        tools.list_functions,
        name="list_functions",
        title="List functions",
        description="List the functions of this API key's tenant, newest first, with their "
        "status and public URL. Pages through long lists with cursor.",
        annotations=ToolAnnotations(title="List functions", read_only_hint=True, open_world_hint=False),
    )
    server.add_tool(
        tools.get_function,
        name="get_function",
        title="Get a function",
        description="Show one function's full configuration and state: status, statusReason, "
        "the outcome of its latest update, version, code hash and size, env, limits and public URL.",
        annotations=ToolAnnotations(title="Get a function", read_only_hint=True, open_world_hint=False),
    )
    server.add_tool(
        tools.delete_function,
        name="delete_function",
        title="Delete a function",
        description="Delete a function: stop its instances and remove its code, logs access and "
        "public URL. This cannot be undone.",
        annotations=ToolAnnotations(
            title="Delete a function", read_only_hint=False, destructive_hint=True,
            idempotent_hint=False, open_world_hint=False,
        ),
    )
    server.add_tool(
        tools.invoke_function,
        name="invoke_function",
        title="Invoke a function",
        description="Run a ready function once with a JSON payload as its event and wait for the "
        "result. Returns the handler's return value, or its error (errorType, errorMessage, "
        "stackTrace), with the request id, duration, memory used and the log lines the "
        "invocation printed. A handler error is a normal result with outcome 'error'.",
        annotations=ToolAnnotations(
            # The platform's state does not change; what the handler itself does is the
            # user's code, hence open world.
            title="Invoke a function", read_only_hint=False, destructive_hint=False,
            idempotent_hint=False, open_world_hint=True,
        ),
    )
    server.add_tool(
        tools.get_function_logs,
        name="get_function_logs",
        title="Read a function's logs",
        description="Read a function's log lines (oldest first) and one report per invocation "
        "(duration, memory, outcome). Filter by requestId to see one invocation, or by a time "
        "range with since/until (ISO 8601 such as 2026-01-31T12:00:00Z, or epoch seconds).",
        annotations=ToolAnnotations(title="Read a function's logs", read_only_hint=True, open_world_hint=False),
    )


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn API, connection and bundling failures into tool errors a model can act on."""
    try:
        yield
    except ApiError as error:
        where = f"HTTP {error.status} {error.code}"
        if error.request_id:
            where += f", request id {error.request_id}"
        raise ToolError(f"{error.message} ({where})") from error
    except (ApiUnreachable, bundle.BundleError) as error:
        raise ToolError(str(error)) from error


class _Tools:
    def __init__(self, provide_api: ApiProvider) -> None:
        self.provide_api = provide_api

    async def deploy_inline(
        self,
        name: Name,
        runtime: Runtime,
        handler: Handler,
        files: Files = None,
        memoryMb: MemoryMb = None,  # noqa: N803 - argument names follow the API's fields
        timeoutSeconds: TimeoutSeconds = None,  # noqa: N803
        env: Env = None,
        reservedConcurrency: ReservedConcurrency = None,  # noqa: N803
        description: Description = None,
        isPublic: IsPublic = None,  # noqa: N803
        publicMethod: PublicMethod = None,  # noqa: N803
        wait: Wait = True,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> DeployResult:
        settings = _settings(memoryMb, timeoutSeconds, env, reservedConcurrency, description, isPublic, publicMethod)
        code = _bundle(files, None, handler, runtime)
        return await self._deploy(ctx, name, runtime, handler, code, settings, wait)

    async def deploy_with_path(
        self,
        name: Name,
        runtime: Runtime,
        handler: Handler,
        files: Files = None,
        path: LocalPath = None,
        memoryMb: MemoryMb = None,  # noqa: N803
        timeoutSeconds: TimeoutSeconds = None,  # noqa: N803
        env: Env = None,
        reservedConcurrency: ReservedConcurrency = None,  # noqa: N803
        description: Description = None,
        isPublic: IsPublic = None,  # noqa: N803
        publicMethod: PublicMethod = None,  # noqa: N803
        wait: Wait = True,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> DeployResult:
        settings = _settings(memoryMb, timeoutSeconds, env, reservedConcurrency, description, isPublic, publicMethod)
        code = _bundle(files, path, handler, runtime)
        return await self._deploy(ctx, name, runtime, handler, code, settings, wait)

    async def _deploy(
        self,
        ctx: Context,
        name: str,
        runtime: str,
        handler: str,
        code: bundle.Bundle | None,
        settings: dict[str, str],
        wait: bool,
    ) -> DeployResult:
        fields = {"name": name, "runtime": runtime, "handler": handler, **settings}
        async with self.provide_api(ctx) as api:
            with tool_errors():
                existing = await api.find_function(name)
                if existing is None:
                    if code is None:
                        raise ToolError(
                            f"there is no function named {name!r} yet, so files"
                            " (or path, over stdio) is required to create it; pass the code with"
                            " the entry file at the root"
                        )
                    created = await api.create_function(fields, code.zip_bytes)
                    function = await api.get_function(created["resourceId"])
                    if wait:
                        function = await _wait(api, function["id"], _creating)
                    _raise_if_failed_create(function, wait)
                    return _deploy_result(function, "created", wait, code)
                try:
                    await api.update_function(
                        existing["id"], fields, code.zip_bytes if code is not None else None
                    )
                except ApiError as error:
                    if error.status in (404, 405) and error.code in ("MethodNotAllowed", "NotFound"):
                        raise ToolError(
                            f"a function named {name!r} already exists and this server cannot "
                            "update functions; delete it with delete_function and deploy again, "
                            "or choose another name"
                        ) from error
                    raise
                function = await api.get_function(existing["id"])
                if wait:
                    function = await _wait(api, function["id"], _updating)
                _raise_if_failed_update(function, wait)
                return _deploy_result(function, "updated", wait, code)

    async def list_functions(
        self,
        limit: Annotated[int, Field(ge=1, le=100, description="Functions per page, 1-100")] = 50,
        cursor: Annotated[str | None, Field(description="nextCursor of the previous page")] = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> FunctionList:
        async with self.provide_api(ctx) as api:
            with tool_errors():
                page = await api.list_functions(limit, cursor)
        return FunctionList(
            functions=[FunctionSummary.model_validate(item) for item in page["items"]],
            nextCursor=page.get("nextCursor"),
        )

    async def get_function(
        self, function: FunctionRef, ctx: Context = None  # type: ignore[assignment]
    ) -> FunctionDetails:
        async with self.provide_api(ctx) as api:
            with tool_errors():
                return FunctionDetails.model_validate(await api.resolve(function))

    async def delete_function(
        self, function: FunctionRef, ctx: Context = None  # type: ignore[assignment]
    ) -> DeleteResult:
        async with self.provide_api(ctx) as api:
            with tool_errors():
                record = await api.resolve(function)
                await api.delete_function(record["id"])
        return DeleteResult(id=record["id"], name=record["name"], deleted=True)

    async def invoke_function(
        self,
        function: FunctionRef,
        payload: Annotated[
            Any,
            Field(description="The event passed to the handler: any JSON value; omitted means {}"),
        ] = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> InvokeResult:
        body = b"{}" if payload is None else orjson.dumps(payload)
        async with self.provide_api(ctx) as api:
            with tool_errors():
                record = await api.resolve(function)
                response = await api.invoke(record["id"], body)
                logs = (
                    await api.logs(record["id"], request_id=response.request_id)
                    if response.request_id
                    else {"logs": [], "reports": []}
                )
        return _invoke_result(record, response.status, response.body, response.request_id, logs)

    async def get_function_logs(
        self,
        function: FunctionRef,
        requestId: Annotated[  # noqa: N803
            str | None, Field(description="Only the lines and report of this invocation")
        ] = None,
        since: Annotated[str | None, Field(description="Only records at or after this time")] = None,
        until: Annotated[str | None, Field(description="Only records at or before this time")] = None,
        limit: Annotated[int, Field(ge=1, le=10000, description="Most log lines and reports returned")] = 200,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> LogsResult:
        async with self.provide_api(ctx) as api:
            with tool_errors():
                record = await api.resolve(function)
                data = await api.logs(
                    record["id"], request_id=requestId, since=since, until=until, limit=limit
                )
        return LogsResult(
            functionId=record["id"],
            functionName=record["name"],
            logs=[LogLine.model_validate(line) for line in data["logs"]],
            reports=[InvocationReport.model_validate(report) for report in data["reports"]],
        )


def _settings(
    memory_mb: int | None,
    timeout_seconds: int | None,
    env: dict[str, str] | None,
    reserved_concurrency: int | None,
    description: str | None,
    is_public: bool | None,
    public_method: str | None,
) -> dict[str, str]:
    """Return the optional fields that were given, as the API's form values."""
    fields: dict[str, str] = {}
    if memory_mb is not None:
        fields["memoryMb"] = str(memory_mb)
    if timeout_seconds is not None:
        fields["timeoutSeconds"] = str(timeout_seconds)
    if env is not None:
        fields["env"] = orjson.dumps(env).decode()
    if reserved_concurrency is not None:
        fields["reservedConcurrency"] = str(reserved_concurrency)
    if description is not None:
        fields["description"] = description
    if is_public is not None:
        fields["isPublic"] = "true" if is_public else "false"
    if public_method is not None:
        fields["publicMethod"] = public_method
    return fields


def _bundle(files: dict[str, str | BinaryFile] | None, path: str | None, handler: str, runtime: str) -> bundle.Bundle | None:
    if files is not None and path is not None:
        raise ToolError("pass either files or path, not both")
    with tool_errors():
        if files is not None:
            plain = {
                path: value if isinstance(value, str) else {"base64": value.base64}
                for path, value in files.items()
            }
            return bundle.from_inline(plain, handler, runtime)
        if path is not None:
            return bundle.from_path(path, handler, runtime)
    return None


def _creating(function: dict[str, Any]) -> bool:
    return bool(function["status"] == "creating")


def _updating(function: dict[str, Any]) -> bool:
    return bool(function.get("lastUpdateStatus") == "InProgress")


async def _wait(api: Api, function_id: str, pending: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the function until `pending` is false or the wait time is over; return it."""
    deadline = time.monotonic() + DEPLOY_WAIT_SECONDS
    function = await api.get_function(function_id)
    while pending(function) and time.monotonic() < deadline:
        await anyio.sleep(_POLL_SECONDS)
        function = await api.get_function(function_id)
    return function


def _raise_if_failed_create(function: dict[str, Any], wait: bool) -> None:
    if function["status"] == "failed":
        raise ToolError(
            f"function {function['name']!r} ({function['id']}) failed to deploy: "
            f"{function.get('statusReason') or 'no reason given'}. Fix the code or settings and "
            "call deploy_function again with the same name"
        )
    if wait and function["status"] == "creating":
        raise ToolError(
            f"function {function['name']!r} ({function['id']}) is still creating after "
            f"{int(DEPLOY_WAIT_SECONDS)} s; call get_function later to see whether it became ready"
        )


def _raise_if_failed_update(function: dict[str, Any], wait: bool) -> None:
    status = function.get("lastUpdateStatus")
    if status == "Failed":
        raise ToolError(
            f"the update of function {function['name']!r} ({function['id']}) failed: "
            f"{function.get('lastUpdateStatusReason') or 'no reason given'}. Version "
            f"{function.get('version')} keeps serving; fix the code or settings and call "
            "deploy_function again"
        )
    if wait and status == "InProgress":
        raise ToolError(
            f"the update of function {function['name']!r} ({function['id']}) is still in "
            f"progress after {int(DEPLOY_WAIT_SECONDS)} s; call get_function later to see "
            "lastUpdateStatus"
        )


def _deploy_result(
    function: dict[str, Any], action: str, wait: bool, code: bundle.Bundle | None
) -> DeployResult:
    files = list(code.files[:_LISTED_FILES]) if code is not None else []
    return DeployResult.model_validate(
        {**function, "action": action, "waited": wait, "bundledFiles": files}
    )


def _invoke_result(
    record: dict[str, Any],
    status: int,
    body: bytes,
    request_id: str | None,
    logs: dict[str, Any],
) -> InvokeResult:
    try:
        value = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        value = body.decode("utf-8", "replace")
    reports = [InvocationReport.model_validate(report) for report in logs["reports"]]
    report = reports[-1] if reports else None
    result: dict[str, Any] = {
        "functionId": record["id"],
        "functionName": record["name"],
        "requestId": request_id,
        "statusCode": status,
        "logs": [LogLine.model_validate(line) for line in logs["logs"]],
    }
    if report is not None:
        result.update(
            durationMs=report.durationMs,
            initDurationMs=report.initDurationMs,
            maxMemoryUsedMb=report.maxMemoryUsedMb,
        )
    if status == 200:
        result.update(outcome="success", result=value)
    else:
        result["outcome"] = report.outcome if report is not None else "error"
        result["error"] = _function_error(value)
    return InvokeResult.model_validate(result)


def _function_error(value: Any) -> FunctionError:
    if isinstance(value, dict) and "errorType" in value:
        trace = value.get("stackTrace") or []
        if isinstance(trace, str):
            trace = trace.splitlines()
        return FunctionError(
            errorType=str(value["errorType"]),
            errorMessage=str(value.get("errorMessage", "")),
            stackTrace=[str(line) for line in trace],
        )
    return FunctionError(errorType="Unknown", errorMessage=orjson.dumps(value).decode())

