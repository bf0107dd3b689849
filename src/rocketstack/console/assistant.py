"""The "Connect an AI assistant" page: MCP client configuration filled in with this
server's URL."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Snippet:
    """One client's configuration for one transport."""

    id: str
    transport: str
    text: str


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    where: str
    snippets: list[Snippet]
    note: str = ""


def clients(api_url: str) -> list[Client]:
    """Return the configuration of each common MCP client, filled in with `api_url`."""
    mcp_url = f"{api_url}/mcp"
    env = {"ROCKETSTACK_API_URL": api_url, "ROCKETSTACK_API_KEY": KEY_PLACEHOLDER}
    stdio = {"command": "rocketstack", "args": ["mcp"], "env": env}
    headers = {"Authorization": f"Bearer {KEY_PLACEHOLDER}"}
    vscode_input = {
        "type": "promptString",
        "id": "rocketstack-api-key",
        "description": "Rocketstack API key",
        "password": True,
    }
    return [
        Client(
            "claude-desktop",
            "Claude Desktop",
            "claude_desktop_config.json (Settings › Developer › Edit Config)",
            [Snippet("claude-desktop-stdio", "stdio", _json({"mcpServers": {"rocketstack": stdio}}))],
            "Claude Desktop's remote connectors sign in with OAuth and cannot send an API key "
            "header, so use the stdio server.",
        ),
        Client(
            "claude-code",
            "Claude Code",
            "a terminal",
            [
                Snippet(
                    "claude-code-stdio",
                    "stdio",
                    "claude mcp add rocketstack --scope user \\\n"
                    f"  --env ROCKETSTACK_API_URL={api_url} \\\n"
                    f"  --env ROCKETSTACK_API_KEY={KEY_PLACEHOLDER} \\\n"
                    "  -- rocketstack mcp",
                ),
                Snippet(
                    "claude-code-http",
                    "streamable HTTP",
                    f"claude mcp add --transport http rocketstack {mcp_url} \\\n"
                    f'  --header "Authorization: Bearer {KEY_PLACEHOLDER}"',
                ),
            ],
        ),
        Client(
            "cursor",
            "Cursor",
            "~/.cursor/mcp.json (every project) or .cursor/mcp.json (one project)",
            [
                Snippet("cursor-stdio", "stdio", _json({"mcpServers": {"rocketstack": stdio}})),
                Snippet(
                    "cursor-http",
                    "streamable HTTP",
                    _json({"mcpServers": {"rocketstack": {"url": mcp_url, "headers": headers}}}),
                ),
            ],
        ),
        Client(
            "windsurf",
            "Windsurf",
            "~/.codeium/windsurf/mcp_config.json (Cascade's MCP panel opens it with Configure)",
            [
                Snippet("windsurf-stdio", "stdio", _json({"mcpServers": {"rocketstack": stdio}})),
                Snippet(
                    "windsurf-http",
                    "streamable HTTP",
                    _json({"mcpServers": {"rocketstack": {"serverUrl": mcp_url, "headers": headers}}}),
                ),
            ],
        ),
        Client(
            "vscode",
            "VS Code",
            ".vscode/mcp.json in the workspace; VS Code asks for the key when it starts the server",
            [
                Snippet(
                    "vscode-stdio",
                    "stdio",
                    _json(
                        {
                            "inputs": [vscode_input],
                            "servers": {
                                "rocketstack": {
                                    "type": "stdio",
                                    **stdio,
                                    "env": {
                                        "ROCKETSTACK_API_URL": api_url,
                                        "ROCKETSTACK_API_KEY": "${input:rocketstack-api-key}",
                                    },
                                }
                            },
                        }
                    ),
                ),
                Snippet(
                    "vscode-http",
                    "streamable HTTP",
                    _json(
                        {
                            "inputs": [vscode_input],
                            "servers": {
                                "rocketstack": {
                                    "type": "http",
                                    "url": mcp_url,
                                    "headers": {
                                        "Authorization": "Bearer ${input:rocketstack-api-key}"
                                    },
                                }
                            },
                        }
                    ),
                ),
            ],
        ),
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
                "clients": clients(api_url),
                "key_placeholder": KEY_PLACEHOLDER,
            },
        )

    return [Route("/assistant", page, methods=["GET"])]
