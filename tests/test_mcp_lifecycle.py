"""The MCP tools for updates, versions, queued invocations and schedules, through in-memory
client sessions against a real server whose retries are fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.harness import Server
from tests.mcp_helpers import call, call_error, mcp_server

pytestmark = pytest.mark.anyio


def returning(value: str) -> dict[str, str]:
    return {"handler.py": f"def handler(event, context):\n    print('returning', {value!r})\n    return {value}\n"}


FAILING = {"handler.py": "def handler(event, context):\n    raise ValueError('no ' + str(event))\n"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose failed queued invocations are retried after 0.05 s, not 10 s."""
    data_dir: Path = tmp_path_factory.mktemp("mcp-lifecycle") / "data"
    instance = Server(data_dir, env={"ROCKETSTACK_QUEUE_RETRY_BASE_SECONDS": "0.05"}).start()
    yield instance
    instance.stop()


async def deploy(client: Client, name: str, files: dict[str, str], **extra: Any) -> dict[str, Any]:
    return await call(client, "deploy_function", {
        "name": name, "runtime": "python3.12", "handler": "handler.handler", "files": files, **extra,
    })


async def wait_invocation(client: Client, invocation_id: str) -> dict[str, Any]:
    """Poll get_invocation until the invocation has finished; bounded to 30 s."""
    deadline = time.monotonic() + 30
    invocation: dict[str, Any] = {}
    while time.monotonic() < deadline:
        invocation = await call(client, "get_invocation", {"invocationId": invocation_id})
        if invocation["status"] in ("succeeded", "failed"):
            return invocation
        await anyio.sleep(0.05)
    raise AssertionError(f"invocation {invocation_id} did not finish within 30 s: {invocation}")


async def test_update_versions_and_rollback(lifecycle_server: Server, unique_name: str) -> None:
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        first = await deploy(client, unique_name, returning("'one'"))
        second = await deploy(client, unique_name, returning("'two'"))
        assert second["action"] == "updated"
        assert second["lastUpdateStatus"] == "Successful"
        assert second["version"] == first["version"] + 1
        invoked = await call(client, "invoke_function", {"function": unique_name})
        assert invoked["result"] == "two"

        versions = await call(client, "list_function_versions", {"function": unique_name})
        assert [v["version"] for v in versions["versions"] if v["current"]] == [second["version"]]
        assert {v["version"] for v in versions["versions"]} == {first["version"], second["version"]}

        rolled = await call(client, "rollback_function", {
            "function": unique_name, "version": first["version"],
        })
        assert rolled["rollbackTo"] == first["version"]
        assert rolled["lastUpdateStatus"] == "Successful"
        assert rolled["codeSha256"] == first["codeSha256"]
        invoked = await call(client, "invoke_function", {"function": unique_name})
        assert invoked["result"] == "one"

        missing = await call_error(client, "rollback_function", {"function": unique_name, "version": 99})
    assert "no version 99" in missing


async def test_settings_only_update(lifecycle_server: Server, unique_name: str) -> None:
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        first = await deploy(client, unique_name, returning("'same'"))
        updated = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "memoryMb": 512, "env": {"MODE": "fast"},
        })
    assert updated["action"] == "updated"
    assert updated["memoryMb"] == 512
    assert updated["env"] == {"MODE": "fast"}
    assert updated["codeSha256"] == first["codeSha256"]
    assert updated["bundledFiles"] == []


async def test_failed_update_keeps_serving(lifecycle_server: Server, unique_name: str) -> None:
    broken = {"handler.py": "def handler(event, context:\n    pass\n"}
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        await deploy(client, unique_name, returning("'old'"))
        message = await call_error(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": broken,
        })
        invoked = await call(client, "invoke_function", {"function": unique_name})
        function = await call(client, "get_function", {"function": unique_name})
    assert "SyntaxError" in message
    assert "previous version keeps serving" in message
    assert invoked["result"] == "old"
    assert function["status"] == "ready"
    assert function["lastUpdateStatus"] == "Failed"


async def test_queued_invocation_succeeds(lifecycle_server: Server, unique_name: str) -> None:
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        await deploy(client, unique_name, returning("event['n'] + 1"))
        queued = await call(client, "queue_invocation", {"function": unique_name, "payload": {"n": 41}})
        assert queued["status"] == "queued"
        finished = await wait_invocation(client, queued["invocationId"])
        listed = await call(client, "list_invocations", {"function": unique_name, "type": "queued"})
    assert finished["status"] == "succeeded"
    assert finished["result"] == 42
    assert finished["type"] == "queued"
    assert [line["message"] for line in finished["logs"]] == ["returning event['n'] + 1"]
    assert [item["invocationId"] for item in listed["invocations"]] == [queued["invocationId"]]


async def test_queued_failure_and_redrive(lifecycle_server: Server, unique_name: str) -> None:
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        deployed = await deploy(client, unique_name, FAILING, maxRetryAttempts=1, maxEventAgeSeconds=600)
        assert deployed["maxRetryAttempts"] == 1
        assert deployed["maxEventAgeSeconds"] == 600
        queued = await call(client, "queue_invocation", {"function": unique_name, "payload": "x"})
        failed = await wait_invocation(client, queued["invocationId"])
        assert failed["status"] == "failed"
        assert failed["attempts"] == 2
        assert len(failed["requestIds"]) == 2
        assert failed["error"]["errorType"] == "ValueError"
        listed = await call(client, "list_invocations", {"function": unique_name, "status": "failed"})
        assert [item["invocationId"] for item in listed["invocations"]] == [queued["invocationId"]]

        await deploy(client, unique_name, returning("'fixed'"))
        redriven = await call(client, "redrive_invocations", {"invocationId": queued["invocationId"]})
        assert redriven["status"] == "queued"
        again = await wait_invocation(client, redriven["invocationIds"][0])
        both = await call_error(client, "redrive_invocations", {
            "function": unique_name, "invocationId": queued["invocationId"],
        })
        neither = await call_error(client, "redrive_invocations", {})
    assert again["status"] == "succeeded"
    assert again["result"] == "fixed"
    assert "exactly one" in both
    assert "exactly one" in neither


async def test_schedule_lifecycle(lifecycle_server: Server, unique_name: str) -> None:
    async with mcp_server(lifecycle_server.url) as mcp, Client(mcp) as client:
        await deploy(client, unique_name, returning("event"))
        schedule = await call(client, "create_schedule", {
            "function": unique_name, "expression": "0 3 * * *", "payload": {"job": "report"},
            "description": "nightly",
        })
        assert schedule["enabled"] is True
        assert schedule["nextRunAt"]
        run = await call(client, "run_schedule", {"scheduleId": schedule["id"]})
        finished = await wait_invocation(client, run["invocationId"])
        assert finished["trigger"] == "schedule"
        assert finished["result"] == {"job": "report"}

        paused = await call(client, "update_schedule", {"scheduleId": schedule["id"], "enabled": False})
        assert paused["enabled"] is False
        mine = await call(client, "list_schedules", {"function": unique_name})
        assert [item["id"] for item in mine["schedules"]] == [schedule["id"]]
        everyone = await call(client, "list_schedules", {})
        assert schedule["id"] in [item["id"] for item in everyone["schedules"]]

        bad = await call_error(client, "create_schedule", {"function": unique_name, "expression": "every day"})
        nothing = await call_error(client, "update_schedule", {"scheduleId": schedule["id"]})
        deleted = await call(client, "delete_schedule", {"scheduleId": schedule["id"]})
        gone = await call_error(client, "run_schedule", {"scheduleId": schedule["id"]})
    assert "expression 'every day'" in bad
    assert "nothing to change" in nothing
    assert deleted == {"scheduleId": schedule["id"], "deleted": True}
    assert schedule["id"] in gone
