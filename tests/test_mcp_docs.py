"""The client configurations in docs/mcp.md, run as written: each stdio entry starts the
server and each HTTP entry connects, once the placeholders are filled in."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import ADMIN_KEY, REPO, Server
from tests.mcp_helpers import FUNCTION_TOOLS, LIFECYCLE_TOOLS

pytestmark = pytest.mark.anyio

DOC = REPO / "docs" / "mcp.md"
TOOLS = FUNCTION_TOOLS | LIFECYCLE_TOOLS
KEY_PLACEHOLDERS = (
    "YOUR_API_KEY", "${ROCKETSTACK_API_KEY}", "${env:ROCKETSTACK_API_KEY}",
    "${input:rocketstack-api-key}",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def config_blocks() -> list[dict[str, Any]]:
    """Return the rocketstack entries of the doc's JSON configuration blocks."""
    entries = []
    for block in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.DOTALL):
        document = json.loads(block)
        servers = document.get("mcpServers") or document.get("servers")
        if servers is not None:
            entries.append(servers["rocketstack"])
    return entries


def fill(value: str, server: Server) -> str:
    for placeholder in KEY_PLACEHOLDERS:
        value = value.replace(placeholder, ADMIN_KEY)
    return value.replace("http://127.0.0.1:8080", server.url)


def test_doc_json_blocks_parse() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), re.DOTALL)
    for block in blocks:
        json.loads(block)
    entries = config_blocks()
    assert len([entry for entry in entries if "command" in entry]) == 5
    # Claude Desktop has no HTTP entry: its remote connectors cannot send an API key.
    assert len([entry for entry in entries if "command" not in entry]) == 4


async def test_doc_stdio_entries_start(server: Server, tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    # Entries that are the same once filled in start the same process, so each runs once.
    launches = {
        (entry["command"], tuple(entry["args"]),
         tuple(sorted((key, fill(value, server)) for key, value in entry["env"].items())))
        for entry in config_blocks()
        if "command" in entry
    }
    with open(tmp_path / "stderr.log", "w") as errlog:
        for command, args, env in sorted(launches):
            params = StdioServerParameters(
                command=command,
                args=list(args),
                env={**dict(env), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
            )
            async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == TOOLS, (command, args)


async def test_doc_http_entries_connect(server: Server) -> None:
    http_entries = [entry for entry in config_blocks() if "command" not in entry]
    for entry in http_entries:
        url = fill(entry.get("url") or entry["serverUrl"], server)
        headers = {key: fill(value, server) for key, value in entry["headers"].items()}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode="legacy") as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == TOOLS, entry
