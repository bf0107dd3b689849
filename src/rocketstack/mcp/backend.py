"""The control-plane calls the MCP tools make, over httpx: one adapter, so the tools do not
depend on how the requests are sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

# TODO: move these calls onto rocketstack.client once the Python SDK is on main.

_FUNCTION_ID_RE = re.compile(r"^fn_[0-9a-f]{20}$")
# Bounds the pages read when a function is looked up by name.
_MAX_NAME_LOOKUP_PAGES = 100


class ApiError(Exception):
    """An error response of the control plane, with its status, code and message."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


class ApiUnreachable(Exception):
    """The control plane could not be reached; the message names the URL."""


@dataclass(frozen=True)
class InvokeResponse:
    status: int
    body: bytes
    request_id: str | None
    function_error: bool


class Api:
    """Async calls to the /v1 API with one API key."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    def connect(
        cls, base_url: str, api_key: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Api:
        http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
            # An invocation may run for up to 60 s, and an upload may be 50 MB.
            timeout=httpx.Timeout(120.0, connect=10.0),
        )
        return cls(http)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def list_functions(self, limit: int, cursor: str | None) -> dict[str, Any]:
        params: dict[str, str] = {"limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        return await self._data("GET", "/v1/functions", params=params)

    async def get_function(self, function_id: str) -> dict[str, Any]:
        return await self._data("GET", f"/v1/functions/{function_id}")

    async def find_function(self, name: str) -> dict[str, Any] | None:
        """Return the function named `name`, or None when the tenant has none."""
        cursor: str | None = None
        for _ in range(_MAX_NAME_LOOKUP_PAGES):
            page = await self.list_functions(100, cursor)
            for item in page["items"]:
                if item["name"] == name:
                    return dict(item)
            cursor = page.get("nextCursor")
            if not cursor:
                return None
        return None

    async def resolve(self, function: str) -> dict[str, Any]:
        """Return a function given its name or its id; raise ApiError 404 when neither matches."""
        if _FUNCTION_ID_RE.match(function):
            try:
                return await self.get_function(function)
            except ApiError as error:
                if error.status != 404:
                    raise
        found = await self.find_function(function)
        if found is None:
            raise ApiError(
                404,
                "ResourceNotFound",
                f"no function named or with id {function!r}; call list_functions to see the "
                "functions of this API key's tenant",
                None,
            )
        return found

    async def create_function(self, fields: dict[str, str], code: bytes) -> dict[str, Any]:
        return await self._data(
            "POST",
            "/v1/functions",
            data=fields,
            files={"code": ("code.zip", code, "application/zip")},
        )

    async def update_function(
        self, function_id: str, fields: dict[str, str], code: bytes | None
    ) -> dict[str, Any]:
        if code is None:
            # Text parts only; httpx would send a form without files as urlencoded.
            return await self._data(
                "PATCH", f"/v1/functions/{function_id}", files=_text_parts(fields)
            )
        return await self._data(
            "PATCH",
            f"/v1/functions/{function_id}",
            data=fields,
            files={"code": ("code.zip", code, "application/zip")},
        )

    async def delete_function(self, function_id: str) -> dict[str, Any]:
        return await self._data("DELETE", f"/v1/functions/{function_id}")

    async def invoke(self, function_id: str, payload: bytes) -> InvokeResponse:
        response = await self._send(
            "POST",
            f"/v1/functions/{function_id}/invoke",
            content=payload,
            headers={"Content-Type": "application/json"},
        )
        if response.headers.get("x-rocketstack-function-error") is None and response.status_code != 200:
            raise _error_of(response)
        return InvokeResponse(
            status=response.status_code,
            body=response.content,
            request_id=response.headers.get("x-rocketstack-request-id")
            or response.headers.get("x-request-id"),
            function_error=response.headers.get("x-rocketstack-function-error") is not None,
        )

    async def logs(
        self,
        function_id: str,
        *,
        request_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 1000,
    ) -> dict[str, Any]:
        params = {"limit": str(limit)}
        for key, value in (("requestId", request_id), ("since", since), ("until", until)):
            if value:
                params[key] = value
        return await self._data("GET", f"/v1/functions/{function_id}/logs", params=params)

    async def _data(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise _error_of(response)
        try:
            body = response.json()
        except ValueError as error:
            raise ApiError(
                response.status_code,
                "InvalidResponse",
                f"{method} {path} returned a body that is not JSON; check ROCKETSTACK_API_URL "
                "points at a Rocketstack server",
                response.headers.get("x-request-id"),
            ) from error
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ApiError(
                response.status_code,
                "InvalidResponse",
                f"{method} {path} returned no data object; check ROCKETSTACK_API_URL points at "
                "a Rocketstack server",
                response.headers.get("x-request-id"),
            )
        return data

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise ApiUnreachable(
                f"{method} {path} on {self.http.base_url} timed out ({type(error).__name__}); "
                "check that the server is running and try again"
            ) from error
        except httpx.HTTPError as error:
            raise ApiUnreachable(
                f"cannot reach the Rocketstack API at {self.http.base_url} ({error}); check "
                "ROCKETSTACK_API_URL and that the server is running"
            ) from error


def _text_parts(fields: dict[str, str]) -> dict[str, tuple[None, str]]:
    """Form fields as multipart parts without a file name, so httpx sends multipart."""
    return {key: (None, value) for key, value in fields.items()}


def _error_of(response: httpx.Response) -> ApiError:
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
        error = body["error"]
        return ApiError(response.status_code, str(error["code"]), str(error["message"]), request_id)
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or "(empty body)"
        return ApiError(response.status_code, "HttpError", f"HTTP {response.status_code}: {text}", request_id)
