"""Options, output and exit codes shared by the commands that talk to the API.

Exit codes, for scripts:

    0  success
    1  any other error (a server error, an unexpected response)
    2  invalid usage or input: a bad flag, invalid --data, a field the API rejected
    3  configuration: no API key, a missing profile, an unreadable profile file
    4  not found: no such function, key or tenant
    5  conflict: the name is taken, the function is not ready, or updates are unsupported
    6  authentication: the API key is invalid, revoked, or not allowed to do this
    7  the server cannot be reached or did not answer in time
    8  the function failed to deploy, or did not become ready in time
    9  the invocation returned a handler error or timed out
    10 throttled: reserved concurrency is exhausted or the function is paused
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Annotated, Any, NoReturn

import typer

from rocketstack.cli.config import ProfileError, resolve_connection
from rocketstack.client import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    ClientError,
    ConfigurationError,
    ConflictError,
    FunctionFailedError,
    NotFoundError,
    PackagingError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ThrottledError,
    WaitTimeoutError,
)


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    NOT_FOUND = 4
    CONFLICT = 5
    AUTH = 6
    UNREACHABLE = 7
    DEPLOY_FAILED = 8
    FUNCTION_ERROR = 9
    THROTTLED = 10


ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="Control-plane URL; default ROCKETSTACK_API_URL, the profile, or http://127.0.0.1:8080.",
        show_default=False,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="API key; default ROCKETSTACK_API_KEY or the profile.", show_default=False
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Profile in the profile file; default ROCKETSTACK_PROFILE or 'default'.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _exit_code(error: ClientError) -> Exit:
    if isinstance(error, (ConfigurationError, ProfileError)):
        return Exit.CONFIG
    if isinstance(error, PackagingError):
        return Exit.USAGE
    if isinstance(error, APIConnectionError):
        return Exit.UNREACHABLE
    if isinstance(error, (FunctionFailedError, WaitTimeoutError)):
        return Exit.DEPLOY_FAILED
    if isinstance(error, (BadRequestError, PayloadTooLargeError)):
        return Exit.USAGE
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return Exit.AUTH
    if isinstance(error, NotFoundError):
        return Exit.NOT_FOUND
    if isinstance(error, ConflictError):
        return Exit.CONFLICT
    if isinstance(error, ThrottledError):
        return Exit.THROTTLED
    return Exit.ERROR


def fail(
    message: str, code: Exit, *, as_json: bool = False, details: dict[str, Any] | None = None
) -> NoReturn:
    """Print a one-line error on stderr (a JSON object with --json) and exit with `code`."""
    if as_json:
        error = {"message": message, "exitCode": int(code), **(details or {})}
        typer.echo(json.dumps({"error": error}), err=True)
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(int(code))


@contextmanager
def reporting(as_json: bool) -> Iterator[None]:
    """Turn SDK errors into a one-line message and the matching exit code."""
    try:
        yield
    except ProfileError as error:
        fail(str(error), Exit.CONFIG, as_json=as_json)
    except APIError as error:
        message = error.message
        if isinstance(error, AuthenticationError):
            message += "; check --api-key, ROCKETSTACK_API_KEY or your profile"
        if error.request_id:
            message += f" (request id {error.request_id})"
        details = {"status": error.status, "code": error.code, "requestId": error.request_id}
        fail(message, _exit_code(error), as_json=as_json, details=details)
    except ClientError as error:
        fail(str(error), _exit_code(error), as_json=as_json)
    except KeyboardInterrupt:
        typer.echo("", err=True)
        raise typer.Exit(130) from None


def make_client(api_url: str | None, api_key: str | None, profile: str | None) -> Client:
    """Build a client from flags, variables and the profile; raise ClientError subclasses."""
    try:
        connection = resolve_connection(api_url, api_key, profile)
    except ProfileError as error:
        raise ConfigurationError(str(error)) from error
    if not connection.api_key:
        raise ConfigurationError(
            "no API key; pass --api-key, set ROCKETSTACK_API_KEY, or run `rocketstack configure` "
            "(the server writes the default key to DATA_DIR/admin-api-key)"
        )
    return Client(connection.api_url, connection.api_key)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=False))


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()
