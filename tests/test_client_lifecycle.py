"""The SDK's versions, rollback, queued invocations and schedules against the real server."""

from __future__ import annotations

import pytest

from rocketstack.client import AsyncClient, Client, NotFoundError, WaitTimeoutError
from tests.harness import ADMIN_KEY, Server

CODE = {
    "handler.py": (
        "def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('asked to fail')\n"
        "    return event\n"
    )
}


def test_client_versions_and_rollback(server: Server, unique_name: str) -> None:
    with Client(server.url, ADMIN_KEY) as sdk:
        first = sdk.deploy(unique_name, CODE, runtime="python3.12", handler="handler.handler")
        changed = sdk.deploy(unique_name, CODE, description="second")
        assert changed.action == "updated"
        assert changed.function.version == first.function.version + 1

        versions = sdk.list_versions(first.function.id)
        assert [v.version for v in versions] == [2, 1]
        assert [v.current for v in versions] == [True, False]
        assert sdk.get_version(first.function.id, 1).code_sha256 == first.function.code_sha256
        with pytest.raises(NotFoundError):
            sdk.get_version(first.function.id, 99)

        accepted = sdk.rollback(first.function.id, 1)
        assert accepted.resource_id == first.function.id
        restored = sdk.wait_until_ready(first.function.id, update=True)
        assert restored.version == 3
        assert restored.description == ""


def test_client_queued_invocations(server: Server, unique_name: str) -> None:
    with Client(server.url, ADMIN_KEY) as sdk:
        function = sdk.deploy(
            unique_name, CODE, runtime="python3.12", handler="handler.handler", max_retry_attempts=0
        ).function
        assert function.raw["maxRetryAttempts"] == 0

        queued = sdk.invoke_queued(function.id, {"n": 1})
        assert queued.status == "queued"
        done = sdk.wait_for_invocation(queued.invocation_id, timeout=60)
        assert done.status == "succeeded"
        assert done.result == {"n": 1}
        assert done.type == "queued"

        failing = sdk.invoke_queued(function.id, payload=b'{"fail": true}')
        failed = sdk.wait_for_invocation(failing.invocation_id, timeout=60)
        assert failed.status == "failed"
        assert failed.error["errorType"] == "ValueError"
        [again] = sdk.redrive_invocation(failing.invocation_id)
        assert sdk.wait_for_invocation(again, timeout=60).status == "failed"
        assert sdk.redrive_function(function.id)

        page = sdk.list_invocations(function.id, type="queued", limit=100)
        assert {queued.invocation_id, failing.invocation_id} <= {
            i.invocation_id for i in page.items
        }
        assert all(i.type == "queued" for i in page.items)
        with pytest.raises(NotFoundError):
            sdk.get_invocation("inv-missing")


def test_client_schedules(server: Server, unique_name: str) -> None:
    with Client(server.url, ADMIN_KEY) as sdk:
        function = sdk.deploy(
            unique_name, CODE, runtime="python3.12", handler="handler.handler"
        ).function
        schedule = sdk.create_schedule(
            function.id, "rate(2 hours)", payload={"n": 5}, description="hourly"
        )
        assert schedule.enabled
        assert schedule.payload == {"n": 5}
        assert sdk.get_schedule(schedule.id) == schedule
        assert [s.id for s in sdk.list_schedules(function.id)] == [schedule.id]
        assert schedule.id in {s.id for s in sdk.list_schedules()}

        paused = sdk.update_schedule(schedule.id, enabled=False)
        assert not paused.enabled
        assert paused.expression == "rate(2 hours)"

        run = sdk.run_schedule(schedule.id)
        result = sdk.wait_for_invocation(run.invocation_id, timeout=60)
        assert result.status == "succeeded"
        assert result.result == {"n": 5}
        assert result.trigger == "schedule"

        sdk.delete_schedule(schedule.id)
        with pytest.raises(NotFoundError):
            sdk.get_schedule(schedule.id)


@pytest.mark.anyio
async def test_async_client_lifecycle_methods(server: Server, unique_name: str) -> None:
    async with AsyncClient(server.url, ADMIN_KEY) as sdk:
        deployed = await sdk.deploy(
            unique_name, CODE, runtime="python3.12", handler="handler.handler"
        )
        function_id = deployed.function.id
        queued = await sdk.invoke_queued(function_id, {"n": 2})
        assert (await sdk.wait_for_invocation(queued.invocation_id, timeout=60)).result == {"n": 2}
        assert (await sdk.get_invocation(queued.invocation_id)).status == "succeeded"
        assert (await sdk.list_invocations(function_id)).items
        assert [v.version for v in await sdk.list_versions(function_id)] == [1]
        assert (await sdk.get_version(function_id, 1)).current

        schedule = await sdk.create_schedule(function_id, "0 * * * *", enabled=False)
        assert (await sdk.get_schedule(schedule.id)).expression == "0 * * * *"
        assert (await sdk.update_schedule(schedule.id, description="x")).description == "x"
        assert [s.id for s in await sdk.list_schedules(function_id)] == [schedule.id]
        run = await sdk.run_schedule(schedule.id)
        assert (await sdk.wait_for_invocation(run.invocation_id, timeout=60)).status == "succeeded"
        await sdk.delete_schedule(schedule.id)

        changed = await sdk.deploy(unique_name, CODE, description="two")
        assert changed.action == "updated"
        await sdk.rollback(function_id, 1)
        assert (await sdk.wait_until_ready(function_id, update=True)).version == 3
        assert await sdk.redrive_function(function_id) == []
        with pytest.raises(NotFoundError):
            await sdk.redrive_invocation("inv-missing")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_client_wait_for_invocation_times_out(server: Server, unique_name: str) -> None:
    slow = {"handler.py": "import time\ndef handler(event, context):\n    time.sleep(3)\n"}
    with Client(server.url, ADMIN_KEY) as sdk:
        function = sdk.deploy(
            unique_name, slow, runtime="python3.12", handler="handler.handler"
        ).function
        queued = sdk.invoke_queued(function.id)
        with pytest.raises(WaitTimeoutError, match="is still"):
            sdk.wait_for_invocation(queued.invocation_id, timeout=0.2, poll_interval=0.05)
