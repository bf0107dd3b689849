"""The asynchronous client, with the same methods as `Client` as coroutines."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import anyio
import httpx

from rocketstack.client import lifecycle
from rocketstack.client.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_SECONDS,
    BaseClient,
    Call,
    Code,
    Progress,
    config_json,
    is_unchanged,
    load_code,
    sha256_hex,
    update_unsupported,
)
from rocketstack.client.errors import (
    MethodNotAllowedError,
    NotFoundError,
    WaitTimeoutError,
    error_from_response,
)
from rocketstack.client.lifecycle import (
    Invocation,
    InvocationPage,
    Operation,
    QueuedInvocation,
    Schedule,
    T,
    Version,
)
from rocketstack.client.models import (
    ApiKey,
    CreatedKey,
    Deployment,
    DeployResult,
    Function,
    FunctionPage,
    InvocationResult,
    Logs,
    Tenant,
    invocation_from_response,
    logs_from_json,
)


class AsyncClient(BaseClient):
    """The asynchronous twin of `Client`, with the same methods as coroutines."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, api_key, env)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call, *, authenticated: bool = True) -> httpx.Response:
        kwargs = call.request_kwargs()
        if authenticated:
            kwargs["headers"] = {**self._headers(), **kwargs["headers"]}
        try:
            return await self._http.request(call.method, call.path, **kwargs)
        except httpx.HTTPError as error:
            raise self._connection_error(error) from error

    async def _fetch(self, call: Call) -> Any:
        return self._data(await self._send(call))

    async def health(self) -> dict[str, Any]:
        response = await self._send(Call("GET", "/healthz"), authenticated=False)
        if response.status_code >= 400:
            raise error_from_response(response)
        return dict(response.json())

    async def list_functions(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> FunctionPage:
        data = await self._fetch(self._call_list(limit, cursor))
        return FunctionPage([Function.from_json(i) for i in data["items"]], data.get("nextCursor"))

    async def iter_functions(self, *, page_size: int = 100) -> AsyncIterator[Function]:
        cursor: str | None = None
        while True:
            page = await self.list_functions(limit=page_size, cursor=cursor)
            for function in page.items:
                yield function
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def get_function(self, function_id: str) -> Function:
        return Function.from_json(await self._fetch(Call("GET", f"/v1/functions/{function_id}")))

    async def find_function(self, name: str) -> Function | None:
        async for function in self.iter_functions():
            if function.name == name:
                return function
        return None

    async def resolve(self, name_or_id: str) -> Function:
        if name_or_id.startswith("fn_"):
            try:
                return await self.get_function(name_or_id)
            except NotFoundError:
                pass
        function = await self.find_function(name_or_id)
        if function is None:
            raise NotFoundError(
                404,
                "ResourceNotFound",
                f"no function named {name_or_id!r}; list your functions with "
                "`rocketstack functions list`",
                None,
            )
        return function

    async def create_function(
        self,
        name: str,
        runtime: str,
        handler: str,
        code: Code,
        *,
        progress: Progress | None = None,
        **config: Any,
    ) -> Deployment:
        zip_bytes = load_code(code, runtime=runtime, handler=handler)
        fields = config_json(name, runtime, handler, config)
        response = await self._send(self._call_create(fields, zip_bytes, progress))
        data = self._data(response)
        return Deployment(data["resourceId"], data["status"], response.headers.get("x-request-id"))

    async def update_function(
        self,
        function_id: str,
        code: Code | None = None,
        *,
        name: str | None = None,
        runtime: str | None = None,
        handler: str | None = None,
        progress: Progress | None = None,
        **config: Any,
    ) -> Deployment:
        zip_bytes = None if code is None else load_code(code, runtime=runtime, handler=handler)
        fields = config_json(name, runtime, handler, config)
        response = await self._send(self._call_update(function_id, fields, zip_bytes, progress))
        data = self._data(response)
        return Deployment(
            data.get("resourceId", function_id),
            data.get("status", ""),
            response.headers.get("x-request-id"),
        )

    async def delete_function(self, function_id: str) -> None:
        await self._fetch(Call("DELETE", f"/v1/functions/{function_id}"))

    async def wait_until_ready(
        self,
        function_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        poll_interval: float = 0.25,
        update: bool = False,
    ) -> Function:
        deadline = time.monotonic() + timeout
        while True:
            function = await self.get_function(function_id)
            if self._wait_verdict(function, update):
                return function
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"function {function.name!r} is still {function.status} after {timeout:g} s; "
                    "check it later with get_function"
                )
            await anyio.sleep(poll_interval)

    async def deploy(
        self,
        name: str,
        code: Code,
        *,
        runtime: str | None = None,
        handler: str | None = None,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_SECONDS,
        progress: Progress | None = None,
        **config: Any,
    ) -> DeployResult:
        existing = await self.find_function(name)
        fields, zip_bytes = self._plan_deploy(name, code, runtime, handler, config, existing)
        if existing is not None and is_unchanged(existing, sha256_hex(zip_bytes), fields):
            if wait and existing.status != "ready":
                existing = await self.wait_until_ready(existing.id, timeout=timeout)
            return DeployResult(existing, "unchanged", None)
        if existing is None:
            response = await self._send(self._call_create(fields, zip_bytes, progress))
            action = "created"
        else:
            fields.pop("name", None)
            new_code = None if existing.code_sha256 == sha256_hex(zip_bytes) else zip_bytes
            response = await self._send(self._call_update(existing.id, fields, new_code, progress))
            action = "updated"
        try:
            data = self._data(response)
        except MethodNotAllowedError as error:
            raise update_unsupported(name, error) from error
        request_id = response.headers.get("x-request-id")
        function_id = data.get("resourceId") or (existing.id if existing else "")
        if wait:
            function = await self.wait_until_ready(
                function_id, timeout=timeout, update=existing is not None
            )
        else:
            function = await self.get_function(function_id)
        return DeployResult(function, action, request_id)

    async def invoke(
        self, function_id: str, event: Any = None, *, payload: bytes | None = None
    ) -> InvocationResult:
        response = await self._send(self._call_invoke(function_id, event, payload))
        if response.status_code >= 400 and not response.headers.get("x-rocketstack-function-error"):
            raise error_from_response(response)
        return invocation_from_response(response)

    async def logs(
        self,
        function_id: str,
        *,
        request_id: str | None = None,
        since: datetime | float | str | None = None,
        until: datetime | float | str | None = None,
        limit: int | None = None,
    ) -> Logs:
        call = self._call_logs(function_id, request_id, since, until, limit)
        return logs_from_json(await self._fetch(call))

    async def create_key(self) -> CreatedKey:
        data = await self._fetch(Call("POST", "/v1/keys"))
        return CreatedKey(data["id"], data["prefix"], data["key"], data["createdAt"])

    async def list_keys(self) -> list[ApiKey]:
        data = await self._fetch(Call("GET", "/v1/keys"))
        return [
            ApiKey(i["id"], i["prefix"], i["createdAt"], i.get("revokedAt")) for i in data["items"]
        ]

    async def revoke_key(self, key_id: str) -> None:
        await self._fetch(Call("DELETE", f"/v1/keys/{key_id}"))

    async def create_tenant(self, name: str) -> Tenant:
        data = await self._fetch(Call("POST", "/v1/tenants", json_body={"name": name}))
        return Tenant(
            data["id"],
            data["name"],
            data["publicToken"],
            data["publicBaseUrl"],
            data["apiKey"],
            data["createdAt"],
        )

    async def _run(self, operation: Operation[T]) -> T:
        return operation.parse(await self._fetch(operation.call))

    async def invoke_queued(
        self, function_id: str, event: Any = None, *, payload: bytes | None = None
    ) -> QueuedInvocation:
        return await self._run(lifecycle.invoke_queued(function_id, event, payload))

    async def get_invocation(self, invocation_id: str) -> Invocation:
        return await self._run(lifecycle.get_invocation(invocation_id))

    async def list_invocations(
        self,
        function_id: str,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> InvocationPage:
        return await self._run(lifecycle.list_invocations(function_id, status, type, limit, cursor))

    async def redrive_invocation(self, invocation_id: str) -> list[str]:
        return await self._run(lifecycle.redrive_invocation(invocation_id))

    async def redrive_function(self, function_id: str) -> list[str]:
        return await self._run(lifecycle.redrive_function(function_id))

    async def list_versions(self, function_id: str) -> list[Version]:
        return await self._run(lifecycle.list_versions(function_id))

    async def get_version(self, function_id: str, version: int) -> Version:
        return await self._run(lifecycle.get_version(function_id, version))

    async def rollback(self, function_id: str, version: int) -> Deployment:
        return await self._run(lifecycle.rollback(function_id, version))

    async def create_schedule(
        self,
        function_id: str,
        expression: str,
        *,
        payload: Any = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Schedule:
        return await self._run(
            lifecycle.create_schedule(function_id, expression, payload, enabled, description)
        )

    async def list_schedules(self, function_id: str | None = None) -> list[Schedule]:
        return await self._run(lifecycle.list_schedules(function_id))

    async def get_schedule(self, schedule_id: str) -> Schedule:
        return await self._run(lifecycle.get_schedule(schedule_id))

    async def update_schedule(
        self,
        schedule_id: str,
        *,
        expression: str | None = None,
        payload: Any = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Schedule:
        return await self._run(
            lifecycle.update_schedule(schedule_id, expression, payload, enabled, description)
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._run(lifecycle.delete_schedule(schedule_id))

    async def run_schedule(self, schedule_id: str) -> QueuedInvocation:
        return await self._run(lifecycle.run_schedule(schedule_id))

    async def wait_for_invocation(
        self,
        invocation_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        poll_interval: float = 0.25,
    ) -> Invocation:
        deadline = time.monotonic() + timeout
        while True:
            invocation = await self.get_invocation(invocation_id)
            if invocation.finished:
                return invocation
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"invocation {invocation_id} is still {invocation.status} after {timeout:g} s"
                )
            await anyio.sleep(poll_interval)
