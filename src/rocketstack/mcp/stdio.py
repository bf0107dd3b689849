"""The MCP server over stdio, for `rocketstack mcp`: one API key from the environment, and
deploys may read local folders and ZIP files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mcp.server.mcpserver import Context

from rocketstack.client import DEFAULT_API_URL, AsyncClient
from rocketstack.errors import ConfigurationError
from rocketstack.mcp.server import build_server


@dataclass(frozen=True)
class StdioConfig:
    api_url: str
    api_key: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StdioConfig:
        api_url = (env.get("ROCKETSTACK_API_URL") or DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"ROCKETSTACK_API_URL={api_url!r} is not an http(s) URL; set it to the server's "
                f"address, e.g. {DEFAULT_API_URL}"
            )
        api_key = (env.get("ROCKETSTACK_API_KEY") or "").strip()
        if not api_key:
            raise ConfigurationError(
                "ROCKETSTACK_API_KEY is not set; set it to an API key of your Rocketstack server "
                "(the server prints one on its first start)"
            )
        return cls(api_url, api_key)


async def serve_stdio(config: StdioConfig) -> None:
    """Serve MCP on stdin and stdout until the client closes stdin."""
    async with AsyncClient(config.api_url, config.api_key) as client:

        @asynccontextmanager
        async def provide_client(_ctx: Context) -> AsyncIterator[AsyncClient]:
            yield client

        server = build_server(provide_client, local_paths=True)
        await server.run_stdio_async()
