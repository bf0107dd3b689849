"""The platform's error tree: each error has a stable code, an HTTP status and a message
that names the value at fault and what to do. `api/` translates them to HTTP in one place."""

from __future__ import annotations


class RocketstackError(Exception):
    """Base of every error the platform reports to a client."""

    status: int = 500
    code: str = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}


class InvalidParameter(RocketstackError):
    status = 400
    code = "InvalidParameterValue"


class InvalidRequestBody(RocketstackError):
    status = 400
    code = "InvalidRequestContent"


class Unauthorized(RocketstackError):
    status = 401
    code = "Unauthorized"


class NotFound(RocketstackError):
    status = 404
    code = "ResourceNotFound"


class MethodNotAllowed(RocketstackError):
    status = 405
    code = "MethodNotAllowed"


class Conflict(RocketstackError):
    status = 409
    code = "ResourceConflict"


class FunctionNotReady(RocketstackError):
    status = 409
    code = "FunctionNotReady"


class PayloadTooLarge(RocketstackError):
    status = 413
    code = "RequestTooLarge"


class UnsupportedMediaType(RocketstackError):
    status = 415
    code = "UnsupportedMediaType"


class Throttled(RocketstackError):
    status = 429
    code = "TooManyRequests"


class FunctionPaused(Throttled):
    code = "FunctionPaused"


class ServiceUnavailable(RocketstackError):
    status = 503
    code = "ServiceUnavailable"


class ConfigurationError(Exception):
    """An invalid setting found at start; the message names the variable."""


class PreparationError(Exception):
    """Preparation of a function's code failed; the message is shown as `statusReason`."""


class Forbidden(RocketstackError):
    status = 403
    code = "Forbidden"
