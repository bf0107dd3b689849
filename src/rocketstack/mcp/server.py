"""The Rocketstack MCP server object, shared by the stdio and streamable HTTP transports."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from rocketstack import __version__
from rocketstack.mcp import lifecycle_tools, tools
from rocketstack.mcp.tools import ClientProvider

INSTRUCTIONS = """\
Rocketstack runs serverless functions: Node.js 20 (runtime nodejs20.x) or Python 3.12
(runtime python3.12) handlers. To ship code, call deploy_function with the source files (the
entry file at the root), then invoke_function to run it and get_function_logs to debug it.
A Node.js handler 'index.handler' is `export const handler = async (event) => {...}` in
index.js; a Python handler 'handler.handler' is `def handler(event, context):` in handler.py.
Calls through a public URL receive the event {method, query, body}; a returned
{statusCode, headers, body} becomes the HTTP response."""


class RocketstackMCP(MCPServer):
    """An MCPServer whose argument errors name each field and rule in one line apiece."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        await self._reject_unknown_arguments(name, arguments)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if isinstance(error.__cause__, ValidationError):
                raise ToolError(_describe(name, error.__cause__)) from error.__cause__
            raise

    async def _reject_unknown_arguments(self, name: str, arguments: dict[str, Any]) -> None:
        """Raise for an argument the tool does not take; the SDK would drop it silently, so
        a misspelt setting such as memory for memoryMb would deploy with the default."""
        known = {tool.name: tool.input_schema.get("properties", {}) for tool in await self.list_tools()}
        if name not in known:
            return
        unknown = sorted(set(arguments) - set(known[name]))
        if unknown:
            raise ToolError(
                f"{name} takes no argument {unknown[0]!r}; its arguments are "
                f"{', '.join(known[name])}"
            )


def build_server(provide_client: ClientProvider, *, local_paths: bool) -> RocketstackMCP:
    """Return the MCP server with every tool; `local_paths` allows deploys from local paths."""
    server = RocketstackMCP(
        "rocketstack",
        title="Rocketstack",
        instructions=INSTRUCTIONS,
        version=__version__,
    )
    tools.register(server, provide_client, local_paths=local_paths)
    lifecycle_tools.register(server, provide_client)
    return server


def _describe(tool: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        value = item.get("input")
        quoted = repr(value) if isinstance(value, str | int | float | bool) else None
        problems.append(f"{field}: {item['msg']}" + (f" (got {quoted[:80]})" if quoted else ""))
    return f"invalid arguments for {tool}: " + "; ".join(problems)
