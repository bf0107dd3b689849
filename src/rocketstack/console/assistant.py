"""The "Connect an AI assistant" page: MCP client configuration filled in with this
server's URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from rocketstack.console.app import Console

KEY_PLACEHOLDER = "YOUR_API_KEY"


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def snippets(api_url: str) -> list[dict[str, str]]:
    """Return one configuration snippet per client and transport."""
    mcp_url = f"{api_url}/mcp"
    stdio = {
        "command": "rocketstack",
        "args": ["mcp"],
        "env": {"ROCKETSTACK_API_URL": api_url, "ROCKETSTACK_API_KEY": KEY_PLACEHOLDER},
    }
    http = {"url": mcp_url, "headers": {"Authorization": f"Bearer {KEY_PLACEHOLDER}"}}
    return [
        {
            "id": "claude-desktop",
            "client": "Claude Desktop",
            "transport": "stdio",
            "where": "claude_desktop_config.json (Settings › Developer › Edit Config)",
            "language": "json",
            "text": _json({"mcpServers": {"rocketstack": stdio}}),
        },
        {
            "id": "claude-code-http",
            "client": "Claude Code",
            "transport": "streamable HTTP",
            "where": "a terminal",
            "language": "shell",
            "text": f"claude mcp add --transport http rocketstack {mcp_url} \\\n"
            f'  --header "Authorization: Bearer {KEY_PLACEHOLDER}"',
        },
        {
            "id": "claude-code-stdio",
            "client": "Claude Code",
            "transport": "stdio",
            "where": "a terminal",
            "language": "shell",
            "text": "claude mcp add rocketstack \\\n"
            f"  --env ROCKETSTACK_API_URL={api_url} \\\n"
            f"  --env ROCKETSTACK_API_KEY={KEY_PLACEHOLDER} \\\n"
            "  -- rocketstack mcp",
        },
        {
            "id": "cursor",
            "client": "Cursor",
            "transport": "streamable HTTP",
            "where": ".cursor/mcp.json in your project, or ~/.cursor/mcp.json",
            "language": "json",
            "text": _json({"mcpServers": {"rocketstack": http}}),
        },
        {
            "id": "vscode",
            "client": "VS Code",
            "transport": "streamable HTTP",
            "where": ".vscode/mcp.json in your workspace",
            "language": "json",
            "text": _json(
                {
                    "inputs": [
                        {
                            "type": "promptString",
                            "id": "rocketstack-api-key",
                            "description": "Rocketstack API key",
                            "password": True,
                        }
                    ],
                    "servers": {
                        "rocketstack": {
                            "type": "http",
                            "url": mcp_url,
                            "headers": {"Authorization": "Bearer ${input:rocketstack-api-key}"},
                        }
                    },
                }
            ),
        },
        {
            "id": "windsurf",
            "client": "Windsurf and other stdio clients",
            "transport": "stdio",
            "where": "the client's MCP configuration file",
            "language": "json",
            "text": _json({"mcpServers": {"rocketstack": stdio}}),
        },
    ]


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        tenant = console.tenant(request)
        api_url = f"{request.url.scheme}://{request.url.netloc}"
        return console.render(
            request,
            "assistant.html",
            {
                "tenant": tenant,
                "nav": "assistant",
                "api_url": api_url,
                "mcp_url": f"{api_url}/mcp",
                "snippets": snippets(api_url),
                "key_placeholder": KEY_PLACEHOLDER,
            },
        )

    return [Route("/assistant", page, methods=["GET"])]
