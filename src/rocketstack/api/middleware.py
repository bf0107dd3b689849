"""ASGI middleware: a request id on every request (context variable and X-Request-Id
header), and translation of platform errors to HTTP responses."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rocketstack.api.envelope import error_response, from_error
from rocketstack.context import new_request_id, request_id_var
from rocketstack.errors import RocketstackError

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except RocketstackError as error:
            if started:
                raise
            await from_error(error)(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(
                500,
                "InternalError",
                f"the server failed to handle this request; report request id {request_id}",
            )
            await response(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
