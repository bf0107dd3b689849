"""The MCP tools for functions: deploy, list, get, delete, invoke and logs. Each tool gets its
SDK client from a provider, so the same tools serve stdio (one API key from the environment)
and streamable HTTP (the caller's API key)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from rocketstack.client import (
    AsyncClient,
    ClientError,
    Function,
    FunctionFailedError,
    InvocationResult,
    Logs,
    NotFoundError,
    PackagingError,
)
from rocketstack.mcp import code
from rocketstack.mcp.arguments import (
    DEPLOY_WAIT_SECONDS,
    BinaryFile,
    Cursor,
    Description,
    Env,
    Files,
    FunctionRef,
    Handler,
    IsPublic,
    LocalPath,
    LogLimit,
    MaxEventAgeSeconds,
    MaxRetryAttempts,
    MemoryMb,
    Name,
    PageSize,
    Payload,
    PublicMethod,
    RequestId,
    ReservedConcurrency,
    Runtime,
    Since,
    TimeoutSeconds,
    Until,
    Wait,
)
from rocketstack.mcp.models import (
    DeleteResult,
    DeployResult,
    FunctionDetails,
    FunctionError,
    FunctionList,
    FunctionSummary,
    InvokeResult,
    LogsResult,
    invocation_report,
    log_line,
)

ClientProvider = Callable[[Context], AbstractAsyncContextManager[AsyncClient]]

# At most this many paths of the uploaded ZIP are listed in a deploy result.
_LISTED_FILES = 200


def register(server: MCPServer, provide_client: ClientProvider, *, local_paths: bool) -> None:
    """Add the function tools to `server`; `local_paths` lets deploy_function read local paths."""
    tools = _Tools(provide_client)
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
            "reason; fix the code or settings and call this tool again. Deploying unchanged code "
            "and settings uploads nothing and returns action 'unchanged'."
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
        description="Delete a function: stop its instances and remove its code and its public "
        "URL. This cannot be undone.",
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
        "invocation printed. A handler error, timeout or memory-limit kill is a normal result "
        "with outcome error, timeout or outOfMemory, not a tool error.",
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
    """Turn SDK and packaging failures into tool errors whose message a model can act on."""
    try:
        yield
    except FunctionFailedError as error:
        raise ToolError(
            f"{error}. Fix the code or settings and call deploy_function again with the same name"
        ) from error
    except (ClientError, PackagingError) as error:
        raise ToolError(str(error)) from error


async def resolve(client: AsyncClient, function: str) -> Function:
    """Return the function with this name or id, or raise a tool error naming both."""
    try:
        return await client.resolve(function)
    except NotFoundError as error:
        raise ToolError(
            f"no function named or with id {function!r} in this API key's tenant; call "
            "list_functions to see the functions there"
        ) from error


class _Tools:
    def __init__(self, provide_client: ClientProvider) -> None:
        self.provide_client = provide_client

    async def deploy_inline(
        self,
        name: Name,
        runtime: Runtime,
        handler: Handler,
        files: Files = None,
        memoryMb: MemoryMb = None,
        timeoutSeconds: TimeoutSeconds = None,
        env: Env = None,
        reservedConcurrency: ReservedConcurrency = None,
        description: Description = None,
        isPublic: IsPublic = None,
        publicMethod: PublicMethod = None,
        maxRetryAttempts: MaxRetryAttempts = None,
        maxEventAgeSeconds: MaxEventAgeSeconds = None,
        wait: Wait = True,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> DeployResult:
        settings = {
            "memory_mb": memoryMb, "timeout_seconds": timeoutSeconds, "env": env,
            "reserved_concurrency": reservedConcurrency, "description": description,
            "is_public": isPublic, "public_method": publicMethod,
            "max_retry_attempts": maxRetryAttempts, "max_event_age_seconds": maxEventAgeSeconds,
        }
        zip_bytes = _code_zip(files, None, runtime, handler)
        return await self._deploy(ctx, name, runtime, handler, zip_bytes, settings, wait)

    async def deploy_with_path(
        self,
        name: Name,
        runtime: Runtime,
        handler: Handler,
        files: Files = None,
        path: LocalPath = None,
        memoryMb: MemoryMb = None,
        timeoutSeconds: TimeoutSeconds = None,
        env: Env = None,
        reservedConcurrency: ReservedConcurrency = None,
        description: Description = None,
        isPublic: IsPublic = None,
        publicMethod: PublicMethod = None,
        maxRetryAttempts: MaxRetryAttempts = None,
        maxEventAgeSeconds: MaxEventAgeSeconds = None,
        wait: Wait = True,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> DeployResult:
        settings = {
            "memory_mb": memoryMb, "timeout_seconds": timeoutSeconds, "env": env,
            "reserved_concurrency": reservedConcurrency, "description": description,
            "is_public": isPublic, "public_method": publicMethod,
            "max_retry_attempts": maxRetryAttempts, "max_event_age_seconds": maxEventAgeSeconds,
        }
        zip_bytes = _code_zip(files, path, runtime, handler)
        return await self._deploy(ctx, name, runtime, handler, zip_bytes, settings, wait)

    async def _deploy(
        self,
        ctx: Context,
        name: str,
        runtime: str,
        handler: str,
        zip_bytes: bytes | None,
        settings: dict[str, Any],
        wait: bool,
    ) -> DeployResult:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                if zip_bytes is not None:
                    result = await client.deploy(
                        name, zip_bytes, runtime=runtime, handler=handler, wait=wait,
                        timeout=DEPLOY_WAIT_SECONDS, **settings,
                    )
                    return _deploy_result(result.function, result.action, wait, zip_bytes)
                existing = await client.find_function(name)
                if existing is None:
                    raise ToolError(
                        f"there is no function named {name!r} yet, so files (or path, over "
                        "stdio) is required to create it; pass the code with the entry file "
                        "at the root"
                    )
                # Settings alone: the code stays as it is.
                await client.update_function(
                    existing.id, runtime=runtime, handler=handler, **settings
                )
                if wait:
                    function = await client.wait_until_ready(
                        existing.id, timeout=DEPLOY_WAIT_SECONDS, update=True
                    )
                else:
                    function = await client.get_function(existing.id)
                return _deploy_result(function, "updated", wait, None)

    async def list_functions(
        self, limit: PageSize = 50, cursor: Cursor = None, ctx: Context = None  # type: ignore[assignment]
    ) -> FunctionList:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                page = await client.list_functions(limit=limit, cursor=cursor)
        return FunctionList(
            functions=[FunctionSummary.model_validate(item.raw) for item in page.items],
            nextCursor=page.next_cursor,
        )

    async def get_function(
        self, function: FunctionRef, ctx: Context = None  # type: ignore[assignment]
    ) -> FunctionDetails:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
        return FunctionDetails.model_validate(found.raw)

    async def delete_function(
        self, function: FunctionRef, ctx: Context = None  # type: ignore[assignment]
    ) -> DeleteResult:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                await client.delete_function(found.id)
        return DeleteResult(id=found.id, name=found.name, deleted=True)

    async def invoke_function(
        self,
        function: FunctionRef,
        payload: Payload = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> InvokeResult:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                invocation = await client.invoke(found.id, payload)
                logs = await client.logs(found.id, request_id=invocation.request_id)
        return _invoke_result(found, invocation, logs)

    async def get_function_logs(
        self,
        function: FunctionRef,
        requestId: RequestId = None,
        since: Since = None,
        until: Until = None,
        limit: LogLimit = 200,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> LogsResult:
        async with self.provide_client(ctx) as client:
            with tool_errors():
                found = await resolve(client, function)
                logs = await client.logs(
                    found.id, request_id=requestId, since=since, until=until, limit=limit
                )
        return LogsResult(
            functionId=found.id,
            functionName=found.name,
            logs=[log_line(line) for line in logs.lines],
            reports=[invocation_report(report) for report in logs.reports],
        )


def _code_zip(
    files: dict[str, str | BinaryFile] | None, path: str | None, runtime: str, handler: str
) -> bytes | None:
    if files is not None and path is not None:
        raise ToolError("pass either files or path, not both")
    with tool_errors():
        if files is not None:
            plain = {
                name: value if isinstance(value, str) else {"base64": value.base64}
                for name, value in files.items()
            }
            return code.from_files(plain, runtime, handler)
        if path is not None:
            return code.from_path(path, runtime, handler)
    return None


def _deploy_result(
    function: Function, action: str, wait: bool, zip_bytes: bytes | None
) -> DeployResult:
    names = sorted(code.file_names(zip_bytes))[:_LISTED_FILES] if zip_bytes is not None else []
    return DeployResult.model_validate(
        {**function.raw, "action": action, "waited": wait, "bundledFiles": names}
    )


def _invoke_result(function: Function, invocation: InvocationResult, logs: Logs) -> InvokeResult:
    reports = [report for report in logs.reports if report.request_id == invocation.request_id]
    report = reports[-1] if reports else None
    if invocation.error is None:
        outcome = "success"
    else:
        outcome = (report.outcome if report is not None else None) or "error"
    return InvokeResult(
        functionId=function.id,
        functionName=function.name,
        requestId=invocation.request_id or None,
        statusCode=invocation.status_code,
        outcome=outcome,
        result=invocation.payload if invocation.error is None else None,
        error=None if invocation.error is None else FunctionError(
            errorType=invocation.error.error_type,
            errorMessage=invocation.error.error_message,
            stackTrace=invocation.error.stack_trace,
        ),
        durationMs=report.duration_ms if report is not None else None,
        initDurationMs=report.init_duration_ms if report is not None else None,
        maxMemoryUsedMb=report.max_memory_used_mb if report is not None else None,
        logs=[log_line(line) for line in logs.lines],
    )
