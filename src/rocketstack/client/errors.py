"""The SDK's exceptions: one tree under ClientError; API errors carry the HTTP status, the
error code and the request id."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from rocketstack.client.models import Function


class ClientError(Exception):
    """Base of every error this SDK raises."""


class ConfigurationError(ClientError):
    """The client is missing a setting, such as the API key."""


class APIConnectionError(ClientError):
    """The server could not be reached, or did not respond in time."""


class WaitTimeoutError(ClientError):
    """A function did not become ready in the time allowed."""


class FunctionFailedError(ClientError):
    """A create or update failed; `reason` states why, in words a user can act on."""

    def __init__(self, message: str, function: Function, reason: str | None) -> None:
        super().__init__(message)
        self.function = function
        self.reason = reason


class APIError(ClientError):
    """The API returned an error status."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status} {self.code}, request id {self.request_id})"


class BadRequestError(APIError):
    """400, 415 or 422: a field or the body is invalid; the message names it."""


class AuthenticationError(APIError):
    """401: the API key is missing, invalid or revoked."""


class PermissionDeniedError(APIError):
    """403: the API key may not do this."""


class NotFoundError(APIError):
    """404: no such function (or other resource) in this tenant."""


class MethodNotAllowedError(APIError):
    """405: the server has no such operation, e.g. an older server without updates."""


class ConflictError(APIError):
    """409: the name is taken, or the resource is in a state that forbids the request."""


class FunctionNotReadyError(ConflictError):
    """409 FunctionNotReady: the function is still creating, or failed."""


class PayloadTooLargeError(APIError):
    """413: the event or code is over the size limit."""


class ThrottledError(APIError):
    """429: reserved concurrency is exhausted; retry later."""


class FunctionPausedError(ThrottledError):
    """429 FunctionPaused: reservedConcurrency is 0."""


class ServerError(APIError):
    """5xx from the platform itself (not a handler error, which is a result)."""


_ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: BadRequestError,
    422: BadRequestError,
    429: ThrottledError,
}
_ERRORS_BY_CODE: dict[str, type[APIError]] = {
    "FunctionNotReady": FunctionNotReadyError,
    "FunctionPaused": FunctionPausedError,
}


def error_from_response(response: httpx.Response) -> APIError:
    """Build the APIError subclass for an error response."""
    request_id = response.headers.get("x-request-id")
    code = "HttpError"
    message = response.text[:300] or response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        request_id = body.get("requestId") or request_id
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
    kind = _ERRORS_BY_CODE.get(code) or _ERRORS_BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else APIError
    return kind(response.status_code, code, message, request_id)
