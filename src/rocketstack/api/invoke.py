"""`POST /v1/functions/{id}/invoke` as plain ASGI in front of the FastAPI app. The invoke
path is the hot one: FastAPI's routing, request object, dependency solving and middleware
stack cost more per call than the whole host side of a warm invocation, so this module
handles it directly and hands every other request to the app. The FastAPI route of the
same path stays for the OpenAPI document and shares the helpers below."""

from __future__ import annotations

import logging
import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rocketstack.api.auth import Authenticator
from rocketstack.context import new_request_id, request_id_var
from rocketstack.errors import InvalidParameter, InvalidRequestBody, PayloadTooLarge, RocketstackError
from rocketstack.platform import Platform
from rocketstack.runtime.instance import Outcome
from rocketstack.runtime.pool import InvocationResult

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 6 * 1024 * 1024
_INVOKE_PATH = re.compile(r"/v1/functions/([^/]+)/invoke")
_JSON = (b"content-type", b"application/json")
_FUNCTION_ERROR = (b"x-rocketstack-function-error", b"Unhandled")


def event_from_body(body: bytes) -> bytes:
    """Return the event to send to the handler: the body when it is JSON, `{}` when empty."""
    if not body.strip():
        return b"{}"
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestBody(
            f"the request body is not valid JSON ({error}); send the event as JSON"
        ) from error
    return body


def result_status(result: InvocationResult) -> tuple[int, dict[str, str]]:
    """Return the HTTP status and headers that carry an invocation's result."""
    headers = {"X-Rocketstack-Request-Id": result.request_id}
    if result.outcome is Outcome.SUCCESS:
        return 200, headers
    headers["X-Rocketstack-Function-Error"] = "Unhandled"
    return (504 if result.outcome is Outcome.TIMEOUT else 500), headers


class InvokeRoute:
    """Handles invoke requests itself and passes every other request to `app`."""

    def __init__(self, app: ASGIApp, platform: Platform, authenticator: Authenticator) -> None:
        self.app = app
        self.functions = platform.functions
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = _INVOKE_PATH.fullmatch(scope["path"])
            # Queued invokes (X-Invocation-Type) go to the FastAPI route.
            if match is not None and not _has_invocation_type(scope):
                await self._invoke(match.group(1), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _invoke(self, function_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        try:
            answer = await self._run(function_id, request_id, scope, receive)
        except RocketstackError as error:
            answer = _error(request_id, error.status, error.code, error.message, error.headers)
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            answer = _error(
                request_id, 500, "InternalError",
                f"the server failed to handle this request; report request id {request_id}",
            )
        finally:
            request_id_var.reset(token)
        if answer is None:
            return  # the client went away before sending the whole body
        status, headers, body = answer
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _run(
        self, function_id: str, request_id: str, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        authorization = None
        length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        tenant = self.authenticator.tenant_for(authorization)
        record = self.functions.get(tenant.id, function_id)
        body = await _read_body(receive, length)
        if body is None:
            return None
        result = await self.functions.invoke(record, request_id, event_from_body(body))
        # The headers of result_status, built as ASGI pairs without a dict in between.
        request_id_bytes = request_id.encode()
        headers = [
            (b"x-request-id", request_id_bytes),
            _JSON,
            (b"x-rocketstack-request-id", request_id_bytes),
        ]
        if result.outcome is Outcome.SUCCESS:
            return 200, headers, result.body
        headers.append(_FUNCTION_ERROR)
        return (504 if result.outcome is Outcome.TIMEOUT else 500), headers, result.body


def _has_invocation_type(scope: Scope) -> bool:
    return any(name == b"x-invocation-type" for name, _ in scope["headers"])


async def _read_body(receive: Receive, length: bytes | None) -> bytes | None:
    """Read the whole body, raising PayloadTooLarge as soon as it passes the limit; return
    None when the client disconnects first."""
    message_text = (
        f"the invocation payload is larger than the limit of {MAX_EVENT_BYTES} bytes; send less"
    )
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise InvalidParameter(
                f"Content-Length {length.decode('latin-1')!r} is not a number"
            ) from None
        if declared > MAX_EVENT_BYTES:
            raise PayloadTooLarge(message_text)
    message: Message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_EVENT_BYTES:
            raise PayloadTooLarge(message_text)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _error(
    request_id: str, status: int, code: str, message: str, headers: dict[str, str] | None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps({"requestId": request_id, "error": {"code": code, "message": message}})
    pairs = [(b"x-request-id", request_id.encode()), _JSON]
    for key, value in (headers or {}).items():
        pairs.append((key.lower().encode(), value.encode()))
    return status, pairs, body
