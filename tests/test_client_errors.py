"""Mapping of API error responses to the SDK's exception types."""

from __future__ import annotations

import httpx
import pytest

from rocketstack.client import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    FunctionNotReadyError,
    FunctionPausedError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    error_from_response,
)


def response(
    status: int, code: str = "Code", headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"requestId": "req-1", "error": {"code": code, "message": f"failed with {code}"}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "InvalidParameterValue", BadRequestError),
        (401, "Unauthorized", AuthenticationError),
        (403, "Forbidden", PermissionDeniedError),
        (404, "ResourceNotFound", NotFoundError),
        (405, "MethodNotAllowed", MethodNotAllowedError),
        (409, "ResourceConflict", ConflictError),
        (409, "FunctionNotReady", FunctionNotReadyError),
        (413, "RequestTooLarge", PayloadTooLargeError),
        (415, "UnsupportedMediaType", BadRequestError),
        (429, "TooManyRequests", ThrottledError),
        (429, "FunctionPaused", FunctionPausedError),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
        (418, "Teapot", APIError),
    ],
)
def test_error_from_response_types(status: int, code: str, kind: type[APIError]) -> None:
    error = error_from_response(response(status, code))
    assert type(error) is kind
    assert isinstance(error, ClientError)
    assert error.status == status
    assert error.code == code
    assert error.message == f"failed with {code}"
    assert error.request_id == "req-1"
    assert f"HTTP {status} {code}" in str(error)


def test_error_from_response_without_envelope() -> None:
    error = error_from_response(
        httpx.Response(502, text="Bad gateway", headers={"X-Request-Id": "req-2"})
    )
    assert isinstance(error, ServerError)
    assert error.code == "HttpError"
    assert error.message == "Bad gateway"
    assert error.request_id == "req-2"
