"""The Console's ASGI app, mounted at /console on the control-plane port: page rendering,
security headers and the error pages. The routes live in one module per page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rocketstack import __version__
from rocketstack.api.auth import Authenticator
from rocketstack.console import filters, session
from rocketstack.context import request_id_var
from rocketstack.errors import RocketstackError
from rocketstack.platform import Platform
from rocketstack.store.models import Tenant
from rocketstack.store.saved_events import SavedEventStore

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

# Pages load scripts, styles and images from the Console itself and nothing else.
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class Console:
    """The Console's shared state: the platform's services and the template environment."""

    def __init__(self, platform: Platform, authenticator: Authenticator) -> None:
        self.platform = platform
        self.authenticator = authenticator
        self.saved_events = SavedEventStore(platform.store.engine)
        self.saved_events.create_schema()
        # Saved events go with their function, also when the API deletes it.
        platform.functions.on_delete.append(lambda record: self.saved_events.delete(record.id))
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        filters.install(self.templates)

    @staticmethod
    def base(request: Request) -> str:
        """Return the path the Console is mounted at, e.g. "/console"."""
        return str(request.scope.get("root_path", "")).rstrip("/")

    def tenant(self, request: Request) -> Tenant:
        return session.tenant_of(self, request)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        key = session.api_key(request)
        values: dict[str, Any] = {
            "request": request,
            "base": self.base(request),
            "version": __version__,
            "csrf": session.csrf_token(key) if key else "",
            "public_base_url": self.platform.settings.public_base_url,
        }
        values.update(context or {})
        body = self.templates.get_template(template).render(values)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store", **(headers or {})})


class SecurityHeaders:
    """Adds the Console's security headers to every response it sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_console(platform: Platform, authenticator: Authenticator) -> Starlette:
    from rocketstack.console import (
        assistant,
        configuration,
        create,
        functions,
        logs,
        monitor,
        testing,
    )

    console = Console(platform, authenticator)

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{console.base(request)}/functions", status_code=303)

    async def on_sign_in_required(request: Request, _error: Exception) -> Response:
        return session.sign_in_redirect(request, console.base(request))

    async def on_csrf_rejected(request: Request, _error: Exception) -> Response:
        return console.render(
            request,
            "error.html",
            {
                "title": "Form expired",
                "message": "This form was not sent from this Console session; reload the page "
                "and try again.",
            },
            status=403,
        )

    async def on_platform_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RocketstackError)
        title = "Not found" if error.status == 404 else "Request failed"
        return console.render(
            request, "error.html", {"title": title, "message": error.message}, status=error.status
        )

    async def on_server_error(request: Request, _error: Exception) -> Response:
        # Starlette re-raises the error after this page is sent, so the server logs it.
        return console.render(
            request,
            "error.html",
            {
                "title": "Something went wrong",
                "message": "The Console failed to show this page; report request id "
                f"{request_id_var.get()} to the server's operator.",
            },
            status=500,
        )

    async def on_not_found(request: Request, _error: Exception) -> Response:
        return console.render(
            request,
            "error.html",
            {"title": "Page not found", "message": f"The Console has no page at {request.url.path}."},
            status=404,
        )

    routes = [
        Route("/", home, methods=["GET"]),
        *session.routes(console),
        # "/functions/new" goes before "/functions/{function_id}".
        *create.routes(console),
        *functions.routes(console),
        *testing.routes(console),
        *logs.routes(console),
        *monitor.routes(console),
        *configuration.routes(console),
        *assistant.routes(console),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            session.SignInRequired: on_sign_in_required,
            session.CsrfRejected: on_csrf_rejected,
            RocketstackError: on_platform_error,
            404: on_not_found,
            Exception: on_server_error,
        },
    )
    app.add_middleware(SecurityHeaders)
    return app
