"""Request body reading with a size limit that holds for chunked uploads too."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message

from rocketstack.errors import InvalidParameter, PayloadTooLarge


def content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"Content-Length {raw!r} is not a number") from None


def limit_body(request: Request, max_bytes: int, what: str, message: str | None = None) -> None:
    """Make the request raise PayloadTooLarge as soon as more than `max_bytes` arrive."""
    length = content_length(request)
    message = message or f"{what} is larger than the limit of {max_bytes} bytes; send less"
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(message)
    receive = request._receive
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        incoming = await receive()
        if incoming["type"] == "http.request":
            received += len(incoming.get("body", b""))
            if received > max_bytes:
                raise PayloadTooLarge(message)
        return incoming

    request._receive = counting_receive


async def read_body(request: Request, max_bytes: int, what: str) -> bytes:
    limit_body(request, max_bytes, what)
    return await request.body()
