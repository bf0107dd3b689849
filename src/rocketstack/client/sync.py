"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

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


class Client(BaseClient):
    """A synchronous client; use it as a context manager, or call `close()`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, api_key, env)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call, *, authenticated: bool = True) -> httpx.Response:
        kwargs = call.request_kwargs()
        if authenticated:
            kwargs["headers"] = {**self._headers(), **kwargs["headers"]}
        try:
            return self._http.request(call.method, call.path, **kwargs)
        except httpx.HTTPError as error:
            raise self._connection_error(error) from error

    def _fetch(self, call: Call) -> Any:
        return self._data(self._send(call))

    def health(self) -> dict[str, Any]:
        """Return `/healthz`: status, version and the runtimes' availability (no key needed)."""
        response = self._send(Call("GET", "/healthz"), authenticated=False)
        if response.status_code >= 400:
            raise error_from_response(response)
        return dict(response.json())

    def list_functions(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> FunctionPage:
        data = self._fetch(self._call_list(limit, cursor))
        return FunctionPage([Function.from_json(i) for i in data["items"]], data.get("nextCursor"))

    def iter_functions(self, *, page_size: int = 100) -> Iterator[Function]:
        """Yield every function of the tenant, newest first, following the cursor."""
        cursor: str | None = None
        while True:
            page = self.list_functions(limit=page_size, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_function(self, function_id: str) -> Function:
        return Function.from_json(self._fetch(Call("GET", f"/v1/functions/{function_id}")))

    def find_function(self, name: str) -> Function | None:
        """Return the function named `name`, or None."""
        return next((f for f in self.iter_functions() if f.name == name), None)

    def resolve(self, name_or_id: str) -> Function:
        """Return the function with this id or name; raise NotFoundError when neither."""
        if name_or_id.startswith("fn_"):
            try:
                return self.get_function(name_or_id)
            except NotFoundError:
                pass
        function = self.find_function(name_or_id)
        if function is None:
            raise NotFoundError(
                404,
                "ResourceNotFound",
                f"no function named {name_or_id!r}; list your functions with "
                "`rocketstack functions list`",
                None,
            )
        return function

    def create_function(
        self,
        name: str,
        runtime: str,
        handler: str,
        code: Code,
        *,
        progress: Progress | None = None,
        **config: Any,
    ) -> Deployment:
        """Upload code and configuration (memory_mb, timeout_seconds, env,
        reserved_concurrency, description, is_public, public_method); 202 means creating."""
        zip_bytes = load_code(code, runtime=runtime, handler=handler)
        fields = config_json(name, runtime, handler, config)
        response = self._send(self._call_create(fields, zip_bytes, progress))
        data = self._data(response)
        return Deployment(data["resourceId"], data["status"], response.headers.get("x-request-id"))

    def update_function(
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
        """Send new code and/or configuration; the current version serves until the new one
        is ready. Raises MethodNotAllowedError on a server without updates."""
        zip_bytes = None if code is None else load_code(code, runtime=runtime, handler=handler)
        fields = config_json(name, runtime, handler, config)
        response = self._send(self._call_update(function_id, fields, zip_bytes, progress))
        data = self._data(response)
        return Deployment(
            data.get("resourceId", function_id),
            data.get("status", ""),
            response.headers.get("x-request-id"),
        )

    def delete_function(self, function_id: str) -> None:
        self._fetch(Call("DELETE", f"/v1/functions/{function_id}"))

    def wait_until_ready(
        self,
        function_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        poll_interval: float = 0.25,
        update: bool = False,
    ) -> Function:
        """Poll until the function is ready (and, with `update`, its last update done).

        Raises FunctionFailedError with the reason, or WaitTimeoutError.
        """
        deadline = time.monotonic() + timeout
        while True:
            function = self.get_function(function_id)
            if self._wait_verdict(function, update):
                return function
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"function {function.name!r} is still {function.status} after {timeout:g} s; "
                    "check it later with get_function"
                )
            time.sleep(poll_interval)

    def deploy(
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
        """Create the function `name`, or update it when it exists; unchanged code and
        settings send nothing. With `wait`, return once it is ready."""
        existing = self.find_function(name)
        fields, zip_bytes = self._plan_deploy(name, code, runtime, handler, config, existing)
        if existing is not None and is_unchanged(existing, sha256_hex(zip_bytes), fields):
            if wait and existing.status != "ready":
                existing = self.wait_until_ready(existing.id, timeout=timeout)
            return DeployResult(existing, "unchanged", None)
        if existing is None:
            response = self._send(self._call_create(fields, zip_bytes, progress))
            action = "created"
        else:
            fields.pop("name", None)
            new_code = None if existing.code_sha256 == sha256_hex(zip_bytes) else zip_bytes
            response = self._send(self._call_update(existing.id, fields, new_code, progress))
            action = "updated"
        try:
            data = self._data(response)
        except MethodNotAllowedError as error:
            raise update_unsupported(name, error) from error
        request_id = response.headers.get("x-request-id")
        function_id = data.get("resourceId") or (existing.id if existing else "")
        if wait:
            function = self.wait_until_ready(
                function_id, timeout=timeout, update=existing is not None
            )
        else:
            function = self.get_function(function_id)
        return DeployResult(function, action, request_id)

    def invoke(
        self, function_id: str, event: Any = None, *, payload: bytes | None = None
    ) -> InvocationResult:
        """Invoke synchronously with `event` (JSON-encoded) or `payload` (raw JSON bytes).

        A handler error or timeout is returned as `result.error`; platform refusals
        (not found, not ready, throttled, too large) raise.
        """
        response = self._send(self._call_invoke(function_id, event, payload))
        if response.status_code >= 400 and not response.headers.get("x-rocketstack-function-error"):
            raise error_from_response(response)
        return invocation_from_response(response)

    def logs(
        self,
        function_id: str,
        *,
        request_id: str | None = None,
        since: datetime | float | str | None = None,
        until: datetime | float | str | None = None,
        limit: int | None = None,
    ) -> Logs:
        """Return log lines (oldest first) and report records of the function."""
        return logs_from_json(
            self._fetch(self._call_logs(function_id, request_id, since, until, limit))
        )

    def create_key(self) -> CreatedKey:
        """Create another API key for this tenant; the key is returned only once."""
        data = self._fetch(Call("POST", "/v1/keys"))
        return CreatedKey(data["id"], data["prefix"], data["key"], data["createdAt"])

    def list_keys(self) -> list[ApiKey]:
        data = self._fetch(Call("GET", "/v1/keys"))
        return [
            ApiKey(i["id"], i["prefix"], i["createdAt"], i.get("revokedAt")) for i in data["items"]
        ]

    def revoke_key(self, key_id: str) -> None:
        """Revoke a key of this tenant by its id (key_...) or prefix (rs_...)."""
        self._fetch(Call("DELETE", f"/v1/keys/{key_id}"))

    def create_tenant(self, name: str) -> Tenant:
        """Create a tenant (needs a key of the default tenant); returns its first key."""
        data = self._fetch(Call("POST", "/v1/tenants", json_body={"name": name}))
        return Tenant(
            data["id"],
            data["name"],
            data["publicToken"],
            data["publicBaseUrl"],
            data["apiKey"],
            data["createdAt"],
        )

    def _run(self, operation: Operation[T]) -> T:
        return operation.parse(self._fetch(operation.call))

    def invoke_queued(
        self, function_id: str, event: Any = None, *, payload: bytes | None = None
    ) -> QueuedInvocation:
        """Queue an invocation (X-Invocation-Type: Event): it runs in the background, retried on
        failure up to the function's maxRetryAttempts; follow it with get_invocation."""
        return self._run(lifecycle.invoke_queued(function_id, event, payload))

    def get_invocation(self, invocation_id: str) -> Invocation:
        """Return an invocation with its result or error."""
        return self._run(lifecycle.get_invocation(invocation_id))

    def list_invocations(
        self,
        function_id: str,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> InvocationPage:
        """List a function's invocations, newest first; `type` is "sync" or "queued"."""
        return self._run(lifecycle.list_invocations(function_id, status, type, limit, cursor))

    def redrive_invocation(self, invocation_id: str) -> list[str]:
        """Queue a failed queued invocation again; return the ids queued."""
        return self._run(lifecycle.redrive_invocation(invocation_id))

    def redrive_function(self, function_id: str) -> list[str]:
        """Queue every failed queued invocation of the function again; return the ids."""
        return self._run(lifecycle.redrive_function(function_id))

    def list_versions(self, function_id: str) -> list[Version]:
        """List the function's versions, newest first."""
        return self._run(lifecycle.list_versions(function_id))

    def get_version(self, function_id: str, version: int) -> Version:
        """Return one version of the function."""
        return self._run(lifecycle.get_version(function_id, version))

    def rollback(self, function_id: str, version: int) -> Deployment:
        """Make `version` current again, as a new version; wait_until_ready(update=True)
        waits for the switch."""
        return self._run(lifecycle.rollback(function_id, version))

    def create_schedule(
        self,
        function_id: str,
        expression: str,
        *,
        payload: Any = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Schedule:
        """Run the function on a cron expression (UTC) or rate(N minutes|hours|days)."""
        return self._run(
            lifecycle.create_schedule(function_id, expression, payload, enabled, description)
        )

    def list_schedules(self, function_id: str | None = None) -> list[Schedule]:
        """List the schedules of one function, or of the whole tenant."""
        return self._run(lifecycle.list_schedules(function_id))

    def get_schedule(self, schedule_id: str) -> Schedule:
        return self._run(lifecycle.get_schedule(schedule_id))

    def update_schedule(
        self,
        schedule_id: str,
        *,
        expression: str | None = None,
        payload: Any = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Schedule:
        """Change the fields given; the others keep their values."""
        return self._run(
            lifecycle.update_schedule(schedule_id, expression, payload, enabled, description)
        )

    def delete_schedule(self, schedule_id: str) -> None:
        self._run(lifecycle.delete_schedule(schedule_id))

    def run_schedule(self, schedule_id: str) -> QueuedInvocation:
        """Run the schedule once now, as a queued invocation."""
        return self._run(lifecycle.run_schedule(schedule_id))

    def wait_for_invocation(
        self,
        invocation_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        poll_interval: float = 0.25,
    ) -> Invocation:
        """Poll until the invocation succeeded or failed; raise WaitTimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            invocation = self.get_invocation(invocation_id)
            if invocation.finished:
                return invocation
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"invocation {invocation_id} is still {invocation.status} after {timeout:g} s"
                )
            time.sleep(poll_interval)
