"""Reading a JSON object from a request body, with a size limit and errors that show a
valid body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from rocketstack.api.body import read_body
from rocketstack.errors import InvalidRequestBody, UnsupportedMediaType

MAX_JSON_BYTES = 512 * 1024


async def read_json_object(
    request: Request, example: str, *, allow_empty: bool = False
) -> dict[str, Any]:
    """Return the body as a JSON object; `example` shows a valid body in error messages."""
    content_type = request.headers.get("content-type", "")
    if content_type and not content_type.startswith("application/json"):
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported here; send application/json "
            f"such as {example}"
        )
    body = await read_body(request, MAX_JSON_BYTES, "the request body")
    if not body.strip():
        if allow_empty:
            return {}
        raise InvalidRequestBody(f"the request body is empty; send a JSON object such as {example}")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestBody(
            f"the request body is not valid JSON ({error}); send a JSON object such as {example}"
        ) from error
    if not isinstance(value, dict):
        raise InvalidRequestBody(f"the request body must be a JSON object such as {example}")
    return value
