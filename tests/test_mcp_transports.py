"""The MCP server over its two transports against the real server: `rocketstack mcp` as a
subprocess over stdio, and streamable HTTP at /mcp on the control-plane port."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import ADMIN_KEY, EXAMPLES, Server
from tests.mcp_helpers import GUIDE_NODE, GUIDE_PYTHON, call, call_error

pytestmark = pytest.mark.anyio

ROCKETSTACK = str(Path(sys.executable).parent / "rocketstack")
GUIDE = [
    ("python3.12", "handler.handler", GUIDE_PYTHON, EXAMPLES / "hello-python"),
    ("nodejs20.x", "index.handler", GUIDE_NODE, EXAMPLES / "hello-node"),
]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def stdio_client_for(server: Server, errlog: Any) -> Client:
    params = StdioServerParameters(
        command=ROCKETSTACK,
        args=["mcp"],
        env={"ROCKETSTACK_API_URL": server.url, "ROCKETSTACK_API_KEY": ADMIN_KEY},
    )
    return Client(stdio_client(params, errlog=errlog), mode="legacy")


@asynccontextmanager
async def http_client_for(
    server: Server, key: str = ADMIN_KEY, mode: str = "legacy"
) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


async def deploy_invoke_and_read_logs(client: Client, name: str, runtime: str, handler: str, code: dict[str, Any]) -> None:
    """Take a guide example from nothing to invoked and its logs read, with the tools alone."""
    deployed = await call(client, "deploy_function", {
        "name": name, "runtime": runtime, "handler": handler, "isPublic": True, **code,
    })
    assert deployed["status"] == "ready", deployed
    assert deployed["publicUrl"]

    invoked = await call(client, "invoke_function", {
        "function": name, "payload": {"method": "GET", "query": {"q": "1"}},
    })
    assert invoked["outcome"] == "success"
    assert invoked["result"]["statusCode"] == 200
    assert '"message"' in invoked["result"]["body"]

    posted = await call(client, "invoke_function", {
        "function": name, "payload": {"method": "POST", "body": {"n": 1}},
    })
    assert '"received"' in posted["result"]["body"]

    logs = await call(client, "get_function_logs", {"function": name})
    assert {report["requestId"] for report in logs["reports"]} == {
        invoked["requestId"], posted["requestId"],
    }
    assert all(report["outcome"] == "success" for report in logs["reports"])

    public = httpx.post(deployed["publicUrl"], json={"via": "public"})
    assert public.json() == {"received": {"via": "public"}}


async def test_stdio_command_runs_guide_examples(server: Server, unique_name: str, tmp_path: Path) -> None:
    with open(tmp_path / "stderr.log", "w") as errlog:
        async with stdio_client_for(server, errlog) as client:
            assert client.server_info is not None
            assert client.server_info.name == "rocketstack"
            for runtime, handler, files, folder in GUIDE:
                short = runtime.split(".")[0]
                await deploy_invoke_and_read_logs(
                    client, f"{unique_name}-{short}-inline", runtime, handler, {"files": files}
                )
                await deploy_invoke_and_read_logs(
                    client, f"{unique_name}-{short}-folder", runtime, handler, {"path": str(folder)}
                )


def test_stdio_command_without_key_exits(server: Server) -> None:
    completed = subprocess.run(
        [ROCKETSTACK, "mcp"],
        env={"PATH": "/usr/bin:/bin", "ROCKETSTACK_API_URL": server.url},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 2
    assert "ROCKETSTACK_API_KEY is not set" in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_http_runs_guide_examples(server: Server, unique_name: str, mode: str) -> None:
    async with http_client_for(server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "path" not in tools["deploy_function"].input_schema["properties"]
        for runtime, handler, files, _folder in GUIDE:
            await deploy_invoke_and_read_logs(
                client, f"{unique_name}-{runtime.split('.')[0]}", runtime, handler, {"files": files}
            )


async def test_http_rejects_local_path(server: Server, unique_name: str) -> None:
    async with http_client_for(server) as client:
        message = await call_error(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "path": str(EXAMPLES / "hello-node"),
        })
    assert "path" in message


@pytest.mark.parametrize("authorization", [None, "Bearer rs_not_a_key", "Basic abc"])
def test_http_requires_api_key(server: Server, authorization: str | None) -> None:
    headers = dict(MCP_HEADERS)
    if authorization:
        headers["Authorization"] = authorization
    response = httpx.post(f"{server.url}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "Unauthorized"


def test_http_session_bound_to_tenant(server: Server, fresh_tenant_key: str) -> None:
    opened = httpx.post(
        f"{server.url}/mcp", json=INITIALIZE,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    session_headers = {**MCP_HEADERS, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
    other = httpx.post(
        f"{server.url}/mcp", json=listing,
        headers={**session_headers, "Authorization": f"Bearer {fresh_tenant_key}"},
    )
    assert other.status_code == 404
    owner = httpx.post(
        f"{server.url}/mcp", json=listing,
        headers={**session_headers, "Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert owner.status_code == 200
    assert "deploy_function" in owner.text


async def test_http_tenant_sees_only_its_functions(
    server: Server, unique_name: str, fresh_tenant_key: str
) -> None:
    async with http_client_for(server) as admin:
        deployed = await call(admin, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": GUIDE_NODE,
        })
    async with http_client_for(server, key=fresh_tenant_key) as other:
        listed = await call(other, "list_functions", {})
        by_name = await call_error(other, "get_function", {"function": unique_name})
        by_id = await call_error(other, "invoke_function", {"function": deployed["id"]})
    assert listed["functions"] == []
    assert unique_name in by_name
    assert deployed["id"] in by_id


@pytest.fixture
def fresh_tenant_key(server: Server, unique_name: str) -> str:
    """The API key of a new tenant in the shared server's data directory."""
    completed = subprocess.run(
        [ROCKETSTACK, "tenants", "create", unique_name[:60], "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("API key:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no API key in the output of tenants create: {completed.stdout}")


def test_http_open_stream_does_not_block_stop(fresh_server: Server) -> None:
    fresh_server.start()
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {ADMIN_KEY}"}
    opened = httpx.post(f"{fresh_server.url}/mcp", json=INITIALIZE, headers=headers)
    session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
    httpx.post(
        f"{fresh_server.url}/mcp",
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={**headers, **session},
    )
    stream_headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {ADMIN_KEY}", **session}
    with httpx.stream("GET", f"{fresh_server.url}/mcp", headers=stream_headers, timeout=30) as stream:
        assert stream.status_code == 200
        # SIGKILL after 15 s would give -9; a clean stop ends the stream and exits with 0.
        assert fresh_server.stop(timeout=15) == 0


async def test_http_lifecycle_tools(server: Server, unique_name: str) -> None:
    files = {"handler.py": "def handler(event, context):\n    print('got', event)\n    return event\n"}
    async with http_client_for(server) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": files,
        })
        queued = await call(client, "queue_invocation", {"function": unique_name, "payload": {"n": 1}})
        schedule = await call(client, "create_schedule", {
            "function": unique_name, "expression": "rate(1 day)", "payload": {"n": 2},
        })
        run = await call(client, "run_schedule", {"scheduleId": schedule["id"]})
        results = {}
        for invocation_id in (queued["invocationId"], run["invocationId"]):
            deadline = time.monotonic() + 30
            invocation: dict[str, Any] = {}
            while time.monotonic() < deadline:
                invocation = await call(client, "get_invocation", {"invocationId": invocation_id})
                if invocation["status"] in ("succeeded", "failed"):
                    break
                await anyio.sleep(0.05)
            results[invocation_id] = invocation
        versions = await call(client, "list_function_versions", {"function": unique_name})
    assert queued["status"] == "queued"
    assert results[queued["invocationId"]]["result"] == {"n": 1}
    assert results[run["invocationId"]]["result"] == {"n": 2}
    assert results[run["invocationId"]]["trigger"] == "schedule"
    assert [line["message"] for line in results[queued["invocationId"]]["logs"]] == ["got {'n': 1}"]
    assert [version["current"] for version in versions["versions"]] == [True]
