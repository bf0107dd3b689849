"""The public gateway ASGI app: `/<tenantToken>/<functionName>[/<path>]` for public
functions, one allowed method each."""

from __future__ import annotations

import logging

import orjson
from starlette.types import Receive, Scope, Send

from rocketstack.context import new_request_id, request_id_var
from rocketstack.errors import (
    InvalidRequestBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RocketstackError,
    ServiceUnavailable,
)
from rocketstack.gateway.mapping import build_event, build_response
from rocketstack.platform import Platform
from rocketstack.runtime.instance import Outcome

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 6 * 1024 * 1024


class PublicGateway:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.functions = platform.functions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        # The request id is set here rather than by RequestIdMiddleware: the wrapper's extra
        # send function and header copy cost a measurable share of a warm invocation.
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        try:
            # Nothing is sent before handle returns, so every error below can still be
            # turned into an error response.
            status, headers, body = await self.handle(scope, receive)
        except RocketstackError as error:
            status, headers, body = _error(error.status, error.code, error.message, error.headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            status, headers, body = _error(
                500, "InternalError",
                f"the server failed to handle this request; report request id {request_id}",
            )
        finally:
            request_id_var.reset(token)
        headers.append((b"content-length", str(len(body)).encode()))
        headers.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def handle(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the public function that the URL names and return the response's status,
        headers and body."""
        path: str = scope["path"]
        parts = path.split("/", 3)
        if len(parts) < 3 or not parts[1] or not parts[2]:
            raise NotFound("no public function at this URL; public URLs look like /TENANT_TOKEN/FUNCTION_NAME")
        token, name = parts[1], parts[2]
        record = self.functions.public_lookup(token, name)
        if record is None or not record.is_public:
            raise NotFound(f"no public function at /{token}/{name}; check the URL in the function's publicUrl")
        method: str = scope["method"]
        allowed = record.public_method or "POST"
        if method != allowed:
            raise MethodNotAllowed(
                f"{method} is not allowed for this function; use {allowed}",
                headers={"Allow": allowed},
            )
        try:
            spec = self.functions.ready_spec(record)
        except RocketstackError as error:
            raise ServiceUnavailable(
                f"function {record.name!r} is not ready ({record.status}); try again later",
                headers={"Retry-After": "1"},
            ) from error
        body = await _read_body(receive)
        request_id = request_id_var.get()
        client = scope.get("client")
        event = build_event(
            method=method,
            path="/" + parts[3] if len(parts) > 3 else "/",
            raw_query=scope.get("query_string", b""),
            headers=scope.get("headers", []),
            body=body,
            request_id=request_id,
            source_ip=client[0] if client else "",
        )
        result = await self.functions.invoke_spec(spec, request_id, event, trigger="public")
        if result.outcome is Outcome.SUCCESS:
            return build_response(result.body)
        if result.outcome is Outcome.TIMEOUT:
            return _error(
                504, "FunctionTimeout",
                f"the function timed out; see its logs for request id {request_id}",
            )
        return _error(
            502, "FunctionError",
            f"the function failed; see its logs for request id {request_id}",
        )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidRequestBody("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes; send less")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _error(
    status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps({"requestId": request_id_var.get(), "error": {"code": code, "message": message}})
    headers = [(b"content-type", b"application/json")]
    for key, value in (extra or {}).items():
        headers.append((key.lower().encode(), value.encode()))
    return status, headers, body


def create_gateway(platform: Platform) -> PublicGateway:
    return PublicGateway(platform)
