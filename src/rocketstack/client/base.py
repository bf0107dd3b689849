"""Request building and response checks shared by `Client` and `AsyncClient`, so both
send the same requests."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from rocketstack.client.errors import (
    APIConnectionError,
    ConfigurationError,
    ConflictError,
    FunctionFailedError,
    MethodNotAllowedError,
    ServerError,
    error_from_response,
)
from rocketstack.client.models import Function
from rocketstack.client.packaging import PackagingError, package_directory, package_files

DEFAULT_API_URL = "http://127.0.0.1:8080"
# Long enough for a 60-second invocation plus a cold start, and for a 50 MB upload.
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_WAIT_SECONDS = 300.0

Progress = Callable[[int, int], None]
"""Upload progress callback: called with (bytes sent, total bytes)."""

Code = str | os.PathLike[str] | bytes | Mapping[str, str | bytes]
"""Function code: a folder path, a .zip file path, ZIP bytes, or {file name: content}."""


@dataclass
class Call:
    """One API request, built the same way for both clients."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json_body: Any = None
    content: bytes | None = None
    form: dict[str, str] | None = None
    code: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    progress: Progress | None = None

    def request_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.code is not None:
            upload = ProgressReader(self.code, self.progress)
            kwargs["data"] = self.form or {}
            kwargs["files"] = {"code": ("code.zip", upload, "application/zip")}
        elif self.content is not None:
            kwargs["content"] = self.content
        elif self.json_body is not None:
            kwargs["json"] = self.json_body
        return kwargs


class ProgressReader(io.BytesIO):
    """ZIP bytes for httpx's multipart encoder, reporting each chunk as it is read."""

    def __init__(self, data: bytes, progress: Progress | None) -> None:
        super().__init__(data)
        self.total = len(data)
        self.progress = progress

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if self.progress is not None and chunk:
            self.progress(self.tell(), self.total)
        return chunk


_CONFIG_FIELDS = {
    "memory_mb": "memoryMb",
    "timeout_seconds": "timeoutSeconds",
    "env": "env",
    "reserved_concurrency": "reservedConcurrency",
    "description": "description",
    "is_public": "isPublic",
    "public_method": "publicMethod",
    "max_retry_attempts": "maxRetryAttempts",
    "max_event_age_seconds": "maxEventAgeSeconds",
}


def config_json(
    name: str | None, runtime: str | None, handler: str | None, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Map Python keyword arguments to API field names, leaving out unset ones."""
    unknown = set(config) - set(_CONFIG_FIELDS)
    if unknown:
        raise TypeError(
            f"unknown function setting {sorted(unknown)[0]!r}; "
            f"use one of {', '.join(_CONFIG_FIELDS)}"
        )
    fields: dict[str, Any] = {}
    for key, value in (("name", name), ("runtime", runtime), ("handler", handler)):
        if value is not None:
            fields[key] = value
    for key, value in config.items():
        if value is not None:
            fields[_CONFIG_FIELDS[key]] = value
    return fields


def form_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    form: dict[str, str] = {}
    for key, value in fields.items():
        if isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, dict):
            form[key] = json.dumps(value, separators=(",", ":"))
        else:
            form[key] = str(value)
    return form


def _time_text(value: datetime | float | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def load_code(code: Code, *, runtime: str | None = None, handler: str | None = None) -> bytes:
    """Turn `code` into ZIP bytes: a folder is zipped, a .zip file is read as it is."""
    if isinstance(code, bytes):
        return code
    if isinstance(code, Mapping):
        return package_files(code, runtime=runtime, handler=handler)
    path = Path(code)
    if path.is_dir():
        return package_directory(path, runtime=runtime, handler=handler)
    if path.is_file():
        data = path.read_bytes()
        if not data.startswith(b"PK"):
            raise PackagingError(f"{path} is not a ZIP file; pass a folder or a .zip file")
        return data
    raise PackagingError(f"{path} does not exist; pass a folder or a .zip file")


def is_unchanged(function: Function, sha256: str, fields: Mapping[str, Any]) -> bool:
    """Tell whether deploying `fields` and code with `sha256` would change nothing; a
    failed function always counts as changed, so a redeploy prepares it again."""
    if function.status == "failed" or function.code_sha256 != sha256:
        return False
    current = function.raw
    for key, value in fields.items():
        if key == "name":
            continue
        if key == "publicMethod" and not fields.get("isPublic", function.is_public):
            continue
        if current.get(key) != value:
            return False
    return True


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def update_unsupported(name: str, error: MethodNotAllowedError) -> ConflictError:
    return ConflictError(
        409,
        "ResourceConflict",
        f"function {name!r} already exists and this server does not support updates; "
        "delete it first or deploy under another name",
        error.request_id,
    )


class BaseClient:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        env: Mapping[str, str] | None,
    ) -> None:
        environ = os.environ if env is None else env
        url = base_url or environ.get("ROCKETSTACK_API_URL") or DEFAULT_API_URL
        self.base_url = url.rstrip("/")
        self.api_key = api_key or environ.get("ROCKETSTACK_API_KEY") or None

    def _headers(self) -> dict[str, str]:
        if not self.api_key:
            raise ConfigurationError(
                "no API key; pass api_key=... or set ROCKETSTACK_API_KEY "
                "(the server prints the default tenant's key on its first start)"
            )
        return {"Authorization": f"Bearer {self.api_key}", "User-Agent": "rocketstack-sdk"}

    def _connection_error(self, error: httpx.HTTPError) -> APIConnectionError:
        if isinstance(error, httpx.TimeoutException):
            return APIConnectionError(
                f"{self.base_url} did not answer in time ({type(error).__name__}); check that "
                "the server is running and reachable"
            )
        return APIConnectionError(
            f"cannot reach the API at {self.base_url} ({error}); check ROCKETSTACK_API_URL "
            "and that `rocketstack serve` is running"
        )

    @staticmethod
    def _data(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError) as error:
            raise ServerError(
                response.status_code,
                "InvalidResponse",
                f"the API answered {response.status_code} without a JSON data envelope",
                response.headers.get("x-request-id"),
            ) from error

    # Calls: one builder per operation, so both clients send the same requests.

    @staticmethod
    def _call_list(limit: int | None, cursor: str | None) -> Call:
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if cursor:
            params["cursor"] = cursor
        return Call("GET", "/v1/functions", params=params)

    @staticmethod
    def _call_create(fields: Mapping[str, Any], code: bytes, progress: Progress | None) -> Call:
        return Call("POST", "/v1/functions", form=form_fields(fields), code=code, progress=progress)

    @staticmethod
    def _call_update(
        function_id: str, fields: Mapping[str, Any], code: bytes | None, progress: Progress | None
    ) -> Call:
        path = f"/v1/functions/{function_id}"
        if code is not None:
            return Call("PATCH", path, form=form_fields(fields), code=code, progress=progress)
        return Call("PATCH", path, json_body=dict(fields))

    @staticmethod
    def _call_invoke(function_id: str, event: Any, payload: bytes | None) -> Call:
        if payload is None and event is not None:
            payload = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        return Call("POST", f"/v1/functions/{function_id}/invoke", content=payload, headers=headers)

    @staticmethod
    def _call_logs(
        function_id: str,
        request_id: str | None,
        since: datetime | float | str | None,
        until: datetime | float | str | None,
        limit: int | None,
    ) -> Call:
        params = {
            "requestId": request_id,
            "since": _time_text(since),
            "until": _time_text(until),
            "limit": None if limit is None else str(limit),
        }
        return Call(
            "GET",
            f"/v1/functions/{function_id}/logs",
            params={k: v for k, v in params.items() if v is not None},
        )

    @staticmethod
    def _wait_verdict(function: Function, update: bool) -> bool:
        """Return True when waiting is over; raise FunctionFailedError on a failure."""
        if function.status == "failed":
            raise FunctionFailedError(
                f"function {function.name!r} failed: {function.status_reason or 'no reason given'}",
                function,
                function.status_reason,
            )
        if function.status != "ready":
            return False
        if not update:
            return True
        if function.last_update_status == "InProgress":
            return False
        if function.last_update_status == "Failed":
            reason = function.last_update_status_reason
            raise FunctionFailedError(
                f"the update of function {function.name!r} failed, and the previous version "
                f"keeps serving: {reason or 'no reason given'}",
                function,
                reason,
            )
        return True

    @staticmethod
    def _plan_deploy(
        name: str,
        code: Code,
        runtime: str | None,
        handler: str | None,
        config: Mapping[str, Any],
        existing: Function | None,
    ) -> tuple[dict[str, Any], bytes]:
        if existing is None:
            for required, value in (("runtime", runtime), ("handler", handler)):
                if not value:
                    raise ConfigurationError(
                        f"{required} is required to create function {name!r}; pass {required}=..."
                    )
        fields = config_json(name, runtime, handler, config)
        check_runtime = runtime or (existing.runtime if existing else None)
        check_handler = handler or (existing.handler if existing else None)
        zip_bytes = load_code(code, runtime=check_runtime, handler=check_handler)
        return fields, zip_bytes
