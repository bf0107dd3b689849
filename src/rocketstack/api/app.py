"""The control-plane ASGI app: /healthz, the /v1 API, and the Console and MCP mounts."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from rocketstack import __version__
from rocketstack.api.auth import Authenticator
from rocketstack.api.envelope import error_response, from_error
from rocketstack.api.functions import build_router
from rocketstack.api.invocations import build_invocations_router
from rocketstack.api.keys import build_keys_router
from rocketstack.api.middleware import RequestIdMiddleware
from rocketstack.api.openapi import allowed_methods
from rocketstack.api.openapi import install as install_openapi
from rocketstack.api.schedules import build_schedules_router
from rocketstack.api.updates import build_updates_router
from rocketstack.console.app import create_console
from rocketstack.errors import RocketstackError
from rocketstack.mcp.http import create_mcp_endpoint
from rocketstack.platform import Platform

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "InvalidRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidParameterValue",
}


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Rocketstack control plane",
        version=__version__,
        docs_url=None,
        redoc_url=None,
    )
    authenticator = Authenticator(platform.store)
    app.state.platform = platform
    app.state.authenticator = authenticator

    @app.exception_handler(RocketstackError)
    async def on_platform_error(_request: Request, error: RocketstackError) -> Response:
        return from_error(error)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        if error.status_code == 404:
            message = f"no route for {request.method} {request.url.path}; see /openapi.json"
        elif error.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path) or [
                method.strip() for method in headers.get("Allow", "").split(",") if method.strip()
            ]
            headers["Allow"] = ", ".join(allowed)
            message = (
                f"{request.method} is not allowed on {request.url.path}; use "
                f"{' or '.join(allowed)} (see /openapi.json)"
            )
        else:
            message = str(error.detail)
        return error_response(
            error.status_code,
            _STATUS_CODES.get(error.status_code, "HttpError"),
            message,
            headers,
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(
            400, "InvalidParameterValue", f"{where}: {first.get('msg', 'invalid value')}"
        )

    @app.get("/healthz", include_in_schema=True)
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok",
            "version": __version__,
            "runtimes": {
                name: {"available": info.available, "version": info.version}
                for name, info in platform.runtimes.items()
            },
        }

    app.include_router(build_router(platform, authenticator.authenticate))
    app.include_router(build_keys_router(platform, authenticator))
    app.include_router(build_updates_router(platform, authenticator.authenticate))
    app.include_router(build_invocations_router(platform, authenticator.authenticate))
    app.include_router(build_schedules_router(platform, authenticator.authenticate))
    install_openapi(app)
    app.state.mcp = create_mcp_endpoint(app, authenticator, platform.settings)
    app.add_route("/mcp", app.state.mcp, include_in_schema=False)
    app.mount("/console", create_console(platform, authenticator))
    app.add_middleware(RequestIdMiddleware)
    return app
