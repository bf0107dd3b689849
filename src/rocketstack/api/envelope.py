"""JSON responses in the envelope every /v1 route uses: {"requestId", "data"} on success,
{"requestId", "error": {"code", "message"}} on failure."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from rocketstack.context import request_id_var
from rocketstack.errors import RocketstackError


class JSONBytes(Response):
    media_type = "application/json"


def data_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"requestId": request_id_var.get(), "data": data})
    return JSONBytes(body, status_code=status, headers=headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps(
        {"requestId": request_id_var.get(), "error": {"code": code, "message": message}}
    )
    return JSONBytes(body, status_code=status, headers=headers)


def from_error(error: RocketstackError) -> Response:
    return error_response(error.status, error.code, error.message, error.headers)
