"""Helpers for the MCP tests: an MCP server object wired to a running Rocketstack server, and
tool calls that fail the test with the tool's own message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.server.mcpserver import Context

from rocketstack.client import AsyncClient
from rocketstack.mcp.server import RocketstackMCP, build_server
from tests.harness import ADMIN_KEY, EXAMPLES

FUNCTION_TOOLS = {
    "deploy_function", "list_functions", "get_function", "delete_function",
    "invoke_function", "get_function_logs",
}
LIFECYCLE_TOOLS = {
    "list_function_versions", "rollback_function", "queue_invocation", "get_invocation",
    "list_invocations", "redrive_invocations", "create_schedule", "list_schedules",
    "update_schedule", "delete_schedule", "run_schedule",
}
GUIDE_NODE = {"index.js": (EXAMPLES / "hello-node" / "index.js").read_text()}
GUIDE_PYTHON = {"handler.py": (EXAMPLES / "hello-python" / "handler.py").read_text()}


@asynccontextmanager
async def mcp_server(
    url: str, key: str = ADMIN_KEY, *, local_paths: bool = True
) -> AsyncIterator[RocketstackMCP]:
    """Yield an MCP server object whose tools call the Rocketstack server at `url`."""
    async with AsyncClient(url, key) as client:

        @asynccontextmanager
        async def provide_client(_ctx: Context) -> AsyncIterator[AsyncClient]:
            yield client

        yield build_server(provide_client, local_paths=local_paths)


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed and return its structured result."""
    result = await client.call_tool(tool, arguments)
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None, f"{tool} returned no structured content: {text}"
    return dict(result.structured_content)


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must fail and return its error message."""
    result = await client.call_tool(tool, arguments)
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{tool} succeeded but should have failed: {text}"
    return text
