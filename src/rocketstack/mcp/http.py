"""The MCP server over streamable HTTP at /mcp on the control-plane port. Callers authenticate
with the same Bearer API keys as /v1, and the tools call the /v1 API in process with the
caller's key, so a tenant can reach only its own functions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from rocketstack.api.auth import Authenticator
from rocketstack.api.envelope import from_error
from rocketstack.client import AsyncClient
from rocketstack.errors import ServiceUnavailable, Unauthorized
from rocketstack.mcp.server import build_server
from rocketstack.settings import Settings

log = logging.getLogger(__name__)

class MCPEndpoint:
    """The ASGI app behind /mcp: checks the API key, then hands the request to the SDK's
    session manager, which it starts on the first request because the control-plane server
    runs without ASGI lifespan events."""

    def __init__(self, api_app: ASGIApp, authenticator: Authenticator, settings: Settings) -> None:
        self.api_app = api_app
        self.authenticator = authenticator
        self.api_url = settings.api_url
        # httpx logs each request with its full URL at INFO; the API's own logs cover these
        # in-process calls.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        server = build_server(self._provide_client, local_paths=False)
        # Builds the SDK's session manager; the Starlette app it returns is not used, since
        # this endpoint does the routing and authentication. The SDK's Host and Origin checks
        # against DNS rebinding stay off: every request needs a Bearer API key, which a browser
        # never attaches by itself, and the checks would reject requests through a reverse proxy.
        server.streamable_http_app(
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
        )
        self.manager: StreamableHTTPSessionManager = server.session_manager
        self._started = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._start_error: BaseException | None = None
        self._closed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self._closed:
            await from_error(
                ServiceUnavailable("the server is shutting down; reconnect once it is back")
            )(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            tenant = self.authenticator.tenant_for(authorization)
        except Unauthorized as error:
            error.headers.setdefault("WWW-Authenticate", 'Bearer realm="rocketstack"')
            await from_error(error)(scope, receive, send)
            return
        key = (authorization or "").partition(" ")[2].strip()
        # Sessions are bound to the tenant: the SDK returns 404 for a request for a session
        # that another tenant's key opened.
        scope["user"] = AuthenticatedUser(AccessToken(token=key, client_id=tenant.id, scopes=[]))
        await self._ensure_started()
        await self.manager.handle_request(scope, receive, send)

    def close(self) -> None:
        """End every MCP session and reject new requests. uvicorn waits for open responses
        before it stops, and an MCP client keeps a GET stream open for as long as it runs."""
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()

    async def _ensure_started(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="mcp-session-manager")
        await self._started.wait()
        if self._start_error is not None:
            raise RuntimeError("the MCP session manager failed to start") from self._start_error

    async def _run(self) -> None:
        try:
            async with self.manager.run():
                self._started.set()
                # Runs until the server's event loop cancels this task at shutdown.
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("the MCP session manager stopped")
            self._start_error = error
            self._started.set()

    @asynccontextmanager
    async def _provide_client(self, ctx: Context) -> AsyncIterator[AsyncClient]:
        request = ctx.request_context.request
        user = request.scope.get("user") if request is not None else None
        if not isinstance(user, AuthenticatedUser):
            raise TypeError("an MCP request over HTTP arrived without an authenticated user")
        async with AsyncClient(
            self.api_url,
            user.access_token.token,
            transport=httpx.ASGITransport(app=self.api_app),
        ) as client:
            yield client


def create_mcp_endpoint(api_app: ASGIApp, authenticator: Authenticator, settings: Settings) -> MCPEndpoint:
    return MCPEndpoint(api_app, authenticator, settings)
