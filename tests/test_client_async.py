"""The asynchronous SDK client against the real server, method by method."""

from __future__ import annotations

import httpx
import pytest

from rocketstack.client import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FunctionFailedError,
    NotFoundError,
    WaitTimeoutError,
)
from tests.harness import ADMIN_KEY, EXAMPLES, Server, free_port, make_zip

ECHO_NODE = {
    "index.js": (
        "exports.handler = async (event) => {\n"
        "  console.log('got', event.n);\n"
        "  return event;\n"
        "};\n"
    )
}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_async_client_lifecycle(server: Server, unique_name: str) -> None:
    async with AsyncClient(server.url, ADMIN_KEY) as sdk:
        assert (await sdk.health())["status"] == "ok"
        sent: list[int] = []
        deployed = await sdk.deploy(
            unique_name,
            EXAMPLES / "hello-python",
            runtime="python3.12",
            handler="handler.handler",
            progress=lambda done, total: sent.append(done),
        )
        assert deployed.action == "created"
        assert deployed.function.status == "ready"
        assert sent
        again = await sdk.deploy(unique_name, EXAMPLES / "hello-python")
        assert again.action == "unchanged"

        function = await sdk.resolve(unique_name)
        assert function.id == deployed.function.id
        assert (await sdk.get_function(function.id)).name == unique_name
        assert (await sdk.find_function(unique_name + "-none")) is None
        page = await sdk.list_functions(limit=100)
        assert function.id in {f.id for f in page.items}
        assert function.id in {f.id async for f in sdk.iter_functions(page_size=1)}

        result = await sdk.invoke(function.id, {"method": "GET", "query": {"a": "1"}})
        assert result.ok
        assert result.payload["statusCode"] == 200
        logs = await sdk.logs(function.id, request_id=result.request_id)
        assert [report.request_id for report in logs.reports] == [result.request_id]

        await sdk.delete_function(function.id)
        with pytest.raises(NotFoundError):
            await sdk.resolve(function.id)


async def test_async_client_create_update_and_errors(server: Server, unique_name: str) -> None:
    async with AsyncClient(server.url, ADMIN_KEY) as sdk:
        created = await sdk.create_function(unique_name, "nodejs20.x", "index.handler", ECHO_NODE)
        function = await sdk.wait_until_ready(created.resource_id)
        result = await sdk.invoke(function.id, payload=b'{"n": 7}')
        assert result.payload == {"n": 7}
        logs = await sdk.logs(function.id, request_id=result.request_id, limit=10)
        assert [line.message.strip() for line in logs.lines] == ["got 7"]

        with pytest.raises(ConflictError):
            await sdk.create_function(unique_name, "nodejs20.x", "index.handler", ECHO_NODE)
        with pytest.raises(BadRequestError, match="timeoutSeconds"):
            await sdk.create_function(
                unique_name + "-x", "nodejs20.x", "index.handler", ECHO_NODE, timeout_seconds=99
            )
        with pytest.raises(BadRequestError):
            await sdk.invoke(function.id, payload=b"nope")

        broken = await sdk.create_function(
            unique_name + "-f", "nodejs20.x", "index.handler", make_zip({"main.js": "x"})
        )
        with pytest.raises(FunctionFailedError) as caught:
            await sdk.wait_until_ready(broken.resource_id)
        assert caught.value.reason


async def test_async_client_update(server: Server, unique_name: str) -> None:
    async with AsyncClient(server.url, ADMIN_KEY) as sdk:
        await sdk.deploy(unique_name, ECHO_NODE, runtime="nodejs20.x", handler="index.handler")
        try:
            result = await sdk.deploy(unique_name, ECHO_NODE, description="changed")
        except ConflictError as error:
            assert "does not support updates" in error.message
        else:
            assert result.action == "updated"
            assert result.function.description == "changed"


async def test_async_client_keys_and_tenants(server: Server) -> None:
    async with AsyncClient(server.url, ADMIN_KEY) as admin:
        tenant = await admin.create_tenant(f"async-{free_port()}")
    async with AsyncClient(server.url, tenant.api_key) as sdk:
        created = await sdk.create_key()
        assert created.id in {key.id for key in await sdk.list_keys()}
        await sdk.revoke_key(created.id)
        [revoked] = [key for key in await sdk.list_keys() if key.id == created.id]
        assert revoked.revoked_at is not None
    async with AsyncClient(server.url, created.key) as revoked_client:
        with pytest.raises(AuthenticationError):
            await revoked_client.list_functions()


async def test_async_client_wait_times_out() -> None:
    creating = {
        "requestId": "r",
        "data": {
            "id": "fn_1",
            "name": "slow",
            "runtime": "nodejs20.x",
            "handler": "index.handler",
            "status": "creating",
        },
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=creating))
    async with AsyncClient("http://test", "key", transport=transport) as sdk:
        with pytest.raises(WaitTimeoutError):
            await sdk.wait_until_ready("fn_1", timeout=0.05, poll_interval=0.01)


async def test_async_client_unreachable() -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}", "key") as sdk:
        with pytest.raises(APIConnectionError):
            await sdk.list_functions()
