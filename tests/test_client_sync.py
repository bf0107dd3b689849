"""The synchronous SDK client against the real server: every method and error type."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rocketstack.client import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigurationError,
    ConflictError,
    FunctionFailedError,
    FunctionNotReadyError,
    FunctionPausedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ThrottledError,
    WaitTimeoutError,
)
from tests.harness import ADMIN_KEY, EXAMPLES, Server, free_port, make_zip

ECHO_PY = {
    "handler.py": "def handler(event, context):\n    print('event', event)\n    return event\n"
}
FAIL_NODE = {"index.js": "exports.handler = async () => { throw new TypeError('boom'); };\n"}
SLEEP_PY = {"handler.py": "import time\ndef handler(event, context):\n    time.sleep(5)\n"}


@pytest.fixture
def sdk(server: Server) -> Iterator[Client]:
    with Client(server.url, ADMIN_KEY) as client:
        yield client


def supports_updates(server: Server) -> bool:
    document = httpx.get(f"{server.url}/openapi.json").json()
    return "patch" in document["paths"].get("/v1/functions/{function_id}", {})


def test_client_health(sdk: Client) -> None:
    health = sdk.health()
    assert health["status"] == "ok"
    assert set(health["runtimes"]) == {"nodejs20.x", "python3.12"}


def test_client_deploy_folder_then_unchanged(sdk: Client, unique_name: str) -> None:
    calls: list[tuple[int, int]] = []
    first = sdk.deploy(
        unique_name,
        EXAMPLES / "hello-node",
        runtime="nodejs20.x",
        handler="index.handler",
        is_public=True,
        public_method="GET",
        progress=lambda sent, total: calls.append((sent, total)),
    )
    assert first.action == "created"
    assert first.function.status == "ready"
    assert first.function.is_public
    assert first.function.public_url
    assert calls
    assert calls[-1][0] == calls[-1][1]

    again = sdk.deploy(unique_name, str(EXAMPLES / "hello-node"), is_public=True)
    assert again.action == "unchanged"
    assert again.function.version == first.function.version
    assert again.function.code_sha256 == first.function.code_sha256


def test_client_deploy_changed_settings(server: Server, sdk: Client, unique_name: str) -> None:
    sdk.deploy(unique_name, ECHO_PY, runtime="python3.12", handler="handler.handler")
    if supports_updates(server):
        result = sdk.deploy(unique_name, ECHO_PY, memory_mb=512)
        assert result.action == "updated"
        assert result.function.memory_mb == 512
    else:
        with pytest.raises(ConflictError, match="does not support updates") as caught:
            sdk.deploy(unique_name, ECHO_PY, memory_mb=512)
        assert caught.value.status == 409


def test_client_deploy_needs_runtime_to_create(sdk: Client, unique_name: str) -> None:
    with pytest.raises(ConfigurationError, match="runtime is required"):
        sdk.deploy(unique_name, ECHO_PY, handler="handler.handler")


def test_client_create_sets_every_field(sdk: Client, unique_name: str) -> None:
    created = sdk.create_function(
        unique_name,
        "python3.12",
        "handler.handler",
        ECHO_PY,
        memory_mb=384,
        timeout_seconds=7,
        env={"GREETING": "hi"},
        reserved_concurrency=3,
        description="echo",
        is_public=True,
        public_method="PATCH",
    )
    assert created.status == "creating"
    assert created.request_id
    function = sdk.wait_until_ready(created.resource_id)
    assert function.memory_mb == 384
    assert function.timeout_seconds == 7
    assert function.env == {"GREETING": "hi"}
    assert function.reserved_concurrency == 3
    assert function.description == "echo"
    assert function.public_method == "PATCH"
    assert function.raw["id"] == function.id


def test_client_wait_reports_failure_reason(sdk: Client, unique_name: str) -> None:
    code = make_zip({"other.py": "x = 1\n"})
    created = sdk.create_function(unique_name, "python3.12", "handler.handler", code)
    with pytest.raises(FunctionFailedError) as caught:
        sdk.wait_until_ready(created.resource_id)
    assert caught.value.function.status == "failed"
    assert caught.value.reason
    assert "handler" in caught.value.reason

    with pytest.raises(FunctionNotReadyError) as not_ready:
        sdk.invoke(created.resource_id, {})
    assert not_ready.value.status == 409
    assert not_ready.value.code == "FunctionNotReady"


def test_client_wait_times_out() -> None:
    creating = {
        "requestId": "r1",
        "data": {
            "id": "fn_1",
            "name": "slow",
            "runtime": "python3.12",
            "handler": "handler.handler",
            "status": "creating",
        },
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=creating))
    with Client("http://test", "key", transport=transport) as client:
        with pytest.raises(WaitTimeoutError, match="still creating"):
            client.wait_until_ready("fn_1", timeout=0.05, poll_interval=0.01)


def test_client_list_get_resolve(sdk: Client, unique_name: str) -> None:
    first = sdk.deploy(unique_name + "-a", ECHO_PY, runtime="python3.12", handler="handler.handler")
    second = sdk.deploy(
        unique_name + "-b", ECHO_PY, runtime="python3.12", handler="handler.handler"
    )
    page = sdk.list_functions(limit=1)
    assert len(page.items) == 1
    assert page.next_cursor
    every = {function.id for function in sdk.iter_functions(page_size=1)}
    assert {first.function.id, second.function.id} <= every

    assert sdk.get_function(first.function.id).name == unique_name + "-a"
    assert sdk.find_function(unique_name + "-b") == second.function
    assert sdk.find_function(unique_name + "-none") is None
    assert sdk.resolve(unique_name + "-a").id == first.function.id
    assert sdk.resolve(first.function.id).name == unique_name + "-a"
    with pytest.raises(NotFoundError, match="no function named"):
        sdk.resolve(unique_name + "-none")


def test_client_invoke_result_and_logs(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name, ECHO_PY, runtime="python3.12", handler="handler.handler"
    ).function
    result = sdk.invoke(function.id, {"n": 1})
    assert result.ok
    assert result.status_code == 200
    assert result.payload == {"n": 1}
    assert result.request_id

    raw = sdk.invoke(function.id, payload=b"[1, 2]")
    assert raw.payload == [1, 2]
    empty = sdk.invoke(function.id)
    assert empty.payload == {}

    logs = sdk.logs(function.id, request_id=result.request_id)
    assert [line.message.strip() for line in logs.lines] == ["event {'n': 1}"]
    assert logs.lines[0].request_id == result.request_id
    assert len(logs.reports) == 1
    assert logs.reports[0].outcome == "success"
    assert logs.reports[0].duration_ms is not None
    assert sdk.logs(function.id, since="2999-01-01T00:00:00Z").lines == []
    assert len(sdk.logs(function.id, limit=1).lines) == 1


def test_client_invoke_handler_error_is_result(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name, FAIL_NODE, runtime="nodejs20.x", handler="index.handler"
    ).function
    result = sdk.invoke(function.id, {})
    assert not result.ok
    assert result.status_code == 500
    assert result.error is not None
    assert result.error.error_type == "TypeError"
    assert result.error.error_message == "boom"
    assert result.error.stack_trace
    assert result.request_id


def test_client_invoke_timeout_is_result(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name, SLEEP_PY, runtime="python3.12", handler="handler.handler", timeout_seconds=1
    ).function
    result = sdk.invoke(function.id, {})
    assert result.status_code == 504
    assert result.error is not None
    assert result.error.error_type == "TimeoutError"


def test_client_invoke_refusals_raise(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name, ECHO_PY, runtime="python3.12", handler="handler.handler"
    ).function
    with pytest.raises(BadRequestError) as bad:
        sdk.invoke(function.id, payload=b"{not json")
    assert bad.value.status == 400
    assert bad.value.request_id
    with pytest.raises(PayloadTooLargeError):
        sdk.invoke(function.id, payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    with pytest.raises(NotFoundError):
        sdk.invoke("fn_missing", {})


def test_client_invoke_paused(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name,
        ECHO_PY,
        runtime="python3.12",
        handler="handler.handler",
        reserved_concurrency=0,
    ).function
    with pytest.raises(FunctionPausedError) as caught:
        sdk.invoke(function.id, {})
    assert isinstance(caught.value, ThrottledError)
    assert caught.value.status == 429


def test_client_delete(sdk: Client, unique_name: str) -> None:
    function = sdk.deploy(
        unique_name, ECHO_PY, runtime="python3.12", handler="handler.handler"
    ).function
    sdk.delete_function(function.id)
    with pytest.raises(NotFoundError) as caught:
        sdk.get_function(function.id)
    assert caught.value.code == "ResourceNotFound"
    with pytest.raises(NotFoundError):
        sdk.delete_function(function.id)


def test_client_create_validation_error(sdk: Client, unique_name: str) -> None:
    with pytest.raises(BadRequestError, match="memoryMb") as caught:
        sdk.create_function(unique_name, "python3.12", "handler.handler", ECHO_PY, memory_mb=5)
    assert caught.value.code == "InvalidParameterValue"


def test_client_duplicate_name_conflict(sdk: Client, unique_name: str) -> None:
    sdk.create_function(unique_name, "python3.12", "handler.handler", ECHO_PY)
    with pytest.raises(ConflictError, match="already exists"):
        sdk.create_function(unique_name, "python3.12", "handler.handler", ECHO_PY)


def test_client_unknown_setting() -> None:
    with Client("http://127.0.0.1:1", "key") as client, pytest.raises(TypeError, match="memory"):
        client.create_function("a", "python3.12", "handler.handler", ECHO_PY, memory=1)


def test_client_bad_key(server: Server) -> None:
    with Client(server.url, "rs_wrong") as client, pytest.raises(AuthenticationError) as caught:
        client.list_functions()
    assert caught.value.status == 401
    assert caught.value.request_id


def test_client_missing_key(server: Server) -> None:
    with (
        Client(server.url, env={}) as client,
        pytest.raises(ConfigurationError, match="ROCKETSTACK_API_KEY"),
    ):
        client.list_functions()


def test_client_settings_from_environment(server: Server) -> None:
    env = {"ROCKETSTACK_API_URL": server.url + "/", "ROCKETSTACK_API_KEY": ADMIN_KEY}
    with Client(env=env) as client:
        assert client.base_url == server.url
        assert isinstance(client.list_functions().items, list)


def test_client_unreachable_server() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "key") as client:
        with pytest.raises(APIConnectionError, match="cannot reach the API"):
            client.list_functions()


def test_client_keys(server: Server, sdk: Client) -> None:
    tenant = sdk.create_tenant(f"keys-{free_port()}")
    with Client(server.url, tenant.api_key) as owner:
        [only] = owner.list_keys()
        assert tenant.api_key.startswith(only.prefix)
        with pytest.raises(ConflictError, match="last active key"):
            owner.revoke_key(only.id)

        extra = owner.create_key()
        assert extra.key.startswith(extra.prefix)
        assert {key.id for key in owner.list_keys()} == {only.id, extra.id}
        with Client(server.url, extra.key) as second:
            assert second.list_functions().items == []
            second.revoke_key(only.prefix)
        with pytest.raises(AuthenticationError):
            owner.list_keys()
    with Client(server.url, extra.key) as second, pytest.raises(NotFoundError):
        second.revoke_key("key_missing")


def test_client_tenants(server: Server, sdk: Client) -> None:
    name = f"tenant-{free_port()}"
    tenant = sdk.create_tenant(name)
    assert tenant.name == name
    assert tenant.public_token
    with pytest.raises(ConflictError, match="already exists"):
        sdk.create_tenant(name)
    with pytest.raises(BadRequestError, match="name"):
        sdk.create_tenant("1-bad name")
    with Client(server.url, tenant.api_key) as other, pytest.raises(PermissionDeniedError):
        other.create_tenant(name + "-x")
