"""The Python SDK: `Client` and `AsyncClient` for the control-plane API, on httpx.

    from rocketstack.client import Client

    with Client() as client:  # ROCKETSTACK_API_URL and ROCKETSTACK_API_KEY
        result = client.deploy("my-api", "examples/hello-node", runtime="nodejs20.x",
                               handler="index.handler")
        print(client.invoke(result.function.id, {"method": "GET"}).payload)

Every API error raises an `APIError` subclass that carries the HTTP status, the error code
and the request id; handler errors and timeouts of an invocation are results, not errors.
"""

from __future__ import annotations

from rocketstack.client.asynchronous import AsyncClient
from rocketstack.client.base import DEFAULT_API_URL, Code, Progress, load_code
from rocketstack.client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConfigurationError,
    ConflictError,
    FunctionFailedError,
    FunctionNotReadyError,
    FunctionPausedError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    WaitTimeoutError,
    error_from_response,
)
from rocketstack.client.lifecycle import (
    Invocation,
    InvocationPage,
    QueuedInvocation,
    Schedule,
    Version,
)
from rocketstack.client.models import (
    ApiKey,
    CreatedKey,
    Deployment,
    DeployResult,
    Function,
    FunctionError,
    FunctionPage,
    InvocationResult,
    LogLine,
    Logs,
    Report,
    Tenant,
)
from rocketstack.client.packaging import PackagingError, package_directory, package_files
from rocketstack.client.sync import Client

__all__ = [
    "Invocation",
    "InvocationPage",
    "QueuedInvocation",
    "Schedule",
    "Version",
    "DEFAULT_API_URL",
    "Code",
    "Progress",
    "error_from_response",
    "load_code",
    "package_directory",
    "package_files",
    "APIConnectionError",
    "APIError",
    "ApiKey",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientError",
    "ConfigurationError",
    "ConflictError",
    "CreatedKey",
    "DeployResult",
    "Deployment",
    "Function",
    "FunctionError",
    "FunctionFailedError",
    "FunctionNotReadyError",
    "FunctionPage",
    "FunctionPausedError",
    "InvocationResult",
    "LogLine",
    "Logs",
    "MethodNotAllowedError",
    "NotFoundError",
    "PackagingError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Report",
    "ServerError",
    "Tenant",
    "ThrottledError",
    "WaitTimeoutError",
]
