"""The MCP tools through in-memory client sessions against the server object, whose tools call
the real Rocketstack server."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from mcp import Client

from tests.harness import EXAMPLES, Server, free_port, make_zip
from tests.mcp_helpers import (
    FUNCTION_TOOLS,
    GUIDE_NODE,
    GUIDE_PYTHON,
    LIFECYCLE_TOOLS,
    call,
    call_error,
    mcp_server,
)

pytestmark = pytest.mark.anyio

PRINTING_PYTHON = {
    "handler.py": (
        "def handler(event, context):\n"
        "    print('got', event['n'])\n"
        "    return {'double': event['n'] * 2}\n"
    )
}
FAILING_NODE = {
    "index.js": (
        "exports.handler = async (event) => {\n"
        "  console.log('before the error');\n"
        "  throw new TypeError('n must be a number');\n"
        "};\n"
    )
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_tools_listed_with_schemas_and_annotations(server: Server) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == FUNCTION_TOOLS | LIFECYCLE_TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.annotations is not None, tool.name
    read_only = {
        "list_functions", "get_function", "get_function_logs", "list_function_versions",
        "get_invocation", "list_invocations", "list_schedules",
    }
    for name, tool in tools.items():
        assert tool.annotations.read_only_hint is (name in read_only), name
    for name in ("delete_function", "delete_schedule", "rollback_function", "deploy_function"):
        assert tools[name].annotations.destructive_hint is True, name
    for name in ("invoke_function", "queue_invocation", "run_schedule", "create_schedule"):
        assert tools[name].annotations.destructive_hint is False, name
    deploy = tools["deploy_function"].input_schema
    assert deploy["required"] == ["name", "runtime", "handler"]
    assert deploy["properties"]["runtime"]["enum"] == ["nodejs20.x", "python3.12"]
    assert "path" in deploy["properties"]
    for field in ("memoryMb", "timeoutSeconds", "env", "reservedConcurrency", "description",
                  "isPublic", "publicMethod"):
        assert field in deploy["properties"], field


async def test_deploy_without_local_paths_has_no_path(server: Server) -> None:
    async with mcp_server(server.url, local_paths=False) as mcp, Client(mcp) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "path" not in tools["deploy_function"].input_schema["properties"]
        message = await call_error(client, "deploy_function", {
            "name": "no-path", "runtime": "nodejs20.x", "handler": "index.handler",
            "path": str(EXAMPLES / "hello-node"),
        })
    assert "path" in message


async def test_deploy_guide_python_inline_then_invoke(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": GUIDE_PYTHON, "isPublic": True, "publicMethod": "POST",
            "memoryMb": 512, "timeoutSeconds": 5, "env": {"GREETING": "hi"},
            "reservedConcurrency": 3, "description": "guide example",
        })
        assert deployed["action"] == "created"
        assert deployed["status"] == "ready"
        assert deployed["statusReason"] is None
        assert deployed["publicUrl"].startswith(server.public_url)
        assert deployed["bundledFiles"] == ["handler.py"]
        assert deployed["memoryMb"] == 512
        assert deployed["timeoutSeconds"] == 5
        assert deployed["env"] == {"GREETING": "hi"}
        assert deployed["reservedConcurrency"] == 3
        assert deployed["description"] == "guide example"

        invoked = await call(client, "invoke_function", {
            "function": unique_name, "payload": {"method": "GET", "query": {"a": "1"}},
        })
    assert invoked["outcome"] == "success"
    assert invoked["statusCode"] == 200
    assert invoked["result"]["statusCode"] == 200
    assert invoked["result"]["body"] == '{"message": "Hello", "query": {"a": "1"}}'
    assert invoked["requestId"]
    assert invoked["durationMs"] is not None
    public = httpx.post(deployed["publicUrl"], json={"k": 1})
    assert public.json() == {"received": {"k": 1}}


async def test_deploy_guide_node_from_folder(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "path": str(EXAMPLES / "hello-node"),
        })
        assert deployed["status"] == "ready"
        assert deployed["bundledFiles"] == ["index.js"]
        invoked = await call(client, "invoke_function", {
            "function": deployed["id"], "payload": {"method": "POST", "body": {"x": 1}},
        })
    assert invoked["result"]["body"] == '{"received":{"x":1}}'


async def test_deploy_folder_leaves_out_caches(server: Server, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(PRINTING_PYTHON["handler.py"])
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    (tmp_path / ".env").write_text("SECRET=1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref\n")
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "path": str(tmp_path),
        })
    assert deployed["bundledFiles"] == ["handler.py", "lib/util.py"]


async def test_deploy_from_zip_path(server: Server, unique_name: str, tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(make_zip(PRINTING_PYTHON))
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "path": str(archive),
        })
        invoked = await call(client, "invoke_function", {"function": unique_name, "payload": {"n": 21}})
    assert deployed["status"] == "ready"
    assert invoked["result"] == {"double": 42}


async def test_deploy_base64_file(server: Server, unique_name: str) -> None:
    data = bytes(range(256))
    files = {
        "handler.py": (
            "import pathlib\n"
            "def handler(event, context):\n"
            "    return len(pathlib.Path(__file__).with_name('blob.bin').read_bytes())\n"
        ),
        "blob.bin": {"base64": base64.b64encode(data).decode()},
    }
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": files,
        })
        invoked = await call(client, "invoke_function", {"function": unique_name})
    assert invoked["result"] == 256


async def test_deploy_failure_quotes_status_reason(server: Server, unique_name: str) -> None:
    files = {"handler.py": "def other(event, context):\n    return 1\n"}
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        message = await call_error(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": files,
        })
        function = await call(client, "get_function", {"function": unique_name})
    assert f"function {unique_name!r} failed" in message
    assert "call deploy_function again" in message
    assert "no function named 'handler'" in message
    assert function["status"] == "failed"
    assert function["statusReason"] in message


async def test_deploy_entry_file_not_at_root(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        message = await call_error(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": {"src/index.js": "export const handler = () => 1;"},
        })
        listed = await call(client, "list_functions", {"limit": 100})
    assert "entry file index.js or index.mjs or index.cjs" in message
    assert "is not at the root" in message
    assert "it is at 'src/index.js'" in message
    assert unique_name not in [item["name"] for item in listed["functions"]]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"memoryMb": 64}, "memoryMb: Input should be greater than or equal to 128 (got 64)"),
        ({"timeoutSeconds": 61}, "timeoutSeconds: Input should be less than or equal to 60"),
        ({"runtime": "ruby3.3"}, "runtime: Input should be 'nodejs20.x' or 'python3.12'"),
        ({"name": "1-starts-with-digit"}, "name: String should match pattern"),
        ({"publicMethod": "PUT"}, "publicMethod: Input should be 'GET', 'POST', 'PATCH' or 'DELETE'"),
        ({"reservedConcurrency": 101}, "reservedConcurrency: Input should be less than or equal to 100"),
        ({"files": {"handler.py": {"base64": "***"}}}, "files['handler.py'].base64 is not valid base64"),
        ({"files": {"../handler.py": "x"}}, "file name '../handler.py' is invalid"),
        ({"files": {}}, "files is empty"),
        ({"files": {"handler.py": "x"}, "path": "/tmp"}, "pass either files or path, not both"),
        ({"path": "/nonexistent/folder"}, "path '/nonexistent/folder' does not exist"),
        ({"env": {"ROCKETSTACK_X": "1"}, "files": GUIDE_PYTHON}, "env key 'ROCKETSTACK_X' is reserved"),
        ({}, "files (or path, over stdio) is required to create it"),
        ({"memory": 512, "files": GUIDE_PYTHON}, "deploy_function takes no argument 'memory'"),
    ],
)
async def test_deploy_invalid_arguments(
    server: Server, unique_name: str, arguments: dict[str, object], expected: str
) -> None:
    base = {"name": unique_name, "runtime": "python3.12", "handler": "handler.handler"}
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        message = await call_error(client, "deploy_function", {**base, **arguments})
    assert expected in message


async def test_deploy_server_validation_names_field(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        message = await call_error(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": GUIDE_PYTHON, "env": {"1BAD": "x"},
        })
    assert "env key '1BAD' is invalid" in message
    assert "HTTP 400 InvalidParameterValue" in message


async def test_invoke_returns_logs_and_report(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": PRINTING_PYTHON,
        })
        first = await call(client, "invoke_function", {"function": unique_name, "payload": {"n": 2}})
        second = await call(client, "invoke_function", {"function": unique_name, "payload": {"n": 5}})
    assert first["result"] == {"double": 4}
    assert [line["message"] for line in first["logs"]] == ["got 2"]
    assert first["logs"][0]["stream"] == "stdout"
    assert first["logs"][0]["requestId"] == first["requestId"]
    assert [line["message"] for line in second["logs"]] == ["got 5"]
    assert second["requestId"] != first["requestId"]
    assert second["maxMemoryUsedMb"] is not None


async def test_invoke_handler_error_shape(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": FAILING_NODE,
        })
        invoked = await call(client, "invoke_function", {"function": unique_name, "payload": {}})
    assert invoked["outcome"] == "error"
    assert invoked["statusCode"] == 500
    assert invoked["result"] is None
    assert invoked["error"]["errorType"] == "TypeError"
    assert invoked["error"]["errorMessage"] == "n must be a number"
    assert any("index.js" in line for line in invoked["error"]["stackTrace"])
    assert "before the error" in [line["message"] for line in invoked["logs"]]


async def test_invoke_timeout_outcome(server: Server, unique_name: str) -> None:
    files = {"handler.py": "import time\ndef handler(event, context):\n    time.sleep(5)\n"}
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": files, "timeoutSeconds": 1,
        })
        invoked = await call(client, "invoke_function", {"function": unique_name})
    assert invoked["statusCode"] == 504
    assert invoked["outcome"] == "timeout"
    assert invoked["error"]["errorType"] == "TimeoutError"


async def test_invoke_paused_function_is_tool_error(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": PRINTING_PYTHON, "reservedConcurrency": 0,
        })
        message = await call_error(client, "invoke_function", {"function": unique_name, "payload": {"n": 1}})
    assert "HTTP 429 FunctionPaused" in message


async def test_invoke_unknown_function(server: Server) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        message = await call_error(client, "invoke_function", {"function": "no-such-function"})
    assert "no function named or with id 'no-such-function'" in message
    assert "list_functions" in message


async def test_get_function_by_name_and_id(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": GUIDE_NODE,
        })
        by_name = await call(client, "get_function", {"function": unique_name})
        by_id = await call(client, "get_function", {"function": deployed["id"]})
        missing = await call_error(client, "get_function", {"function": "fn_00000000000000000000"})
    assert by_name == by_id
    assert by_name["codeSha256"] == deployed["codeSha256"]
    assert by_name["runtime"] == "nodejs20.x"
    assert "fn_00000000000000000000" in missing


async def test_list_functions_pages(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        for suffix in ("a", "b"):
            await call(client, "deploy_function", {
                "name": f"{unique_name}-{suffix}", "runtime": "nodejs20.x",
                "handler": "index.handler", "files": GUIDE_NODE, "wait": False,
            })
        first = await call(client, "list_functions", {"limit": 1})
        second = await call(client, "list_functions", {"limit": 1, "cursor": first["nextCursor"]})
        bad_cursor = await call_error(client, "list_functions", {"cursor": "not-a-cursor"})
    assert first["functions"][0]["name"] == f"{unique_name}-b"
    assert second["functions"][0]["name"] == f"{unique_name}-a"
    assert first["nextCursor"]
    assert "cursor" in bad_cursor


async def test_delete_function(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": GUIDE_NODE,
        })
        deleted = await call(client, "delete_function", {"function": unique_name})
        again = await call_error(client, "delete_function", {"function": unique_name})
        gone = await call_error(client, "get_function", {"function": deployed["id"]})
    assert deleted == {"id": deployed["id"], "name": unique_name, "deleted": True}
    assert unique_name in again
    assert deployed["id"] in gone


async def test_logs_filtered_by_request_and_time(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        await call(client, "deploy_function", {
            "name": unique_name, "runtime": "python3.12", "handler": "handler.handler",
            "files": PRINTING_PYTHON,
        })
        first = await call(client, "invoke_function", {"function": unique_name, "payload": {"n": 1}})
        await call(client, "invoke_function", {"function": unique_name, "payload": {"n": 2}})
        everything = await call(client, "get_function_logs", {"function": unique_name})
        one = await call(client, "get_function_logs", {
            "function": unique_name, "requestId": first["requestId"],
        })
        later = await call(client, "get_function_logs", {
            "function": unique_name, "since": "2999-01-01T00:00:00Z",
        })
        bad_time = await call_error(client, "get_function_logs", {
            "function": unique_name, "since": "yesterday",
        })
    assert [line["message"] for line in everything["logs"]] == ["got 1", "got 2"]
    assert len(everything["reports"]) == 2
    assert [line["message"] for line in one["logs"]] == ["got 1"]
    assert [report["requestId"] for report in one["reports"]] == [first["requestId"]]
    assert one["reports"][0]["outcome"] == "success"
    assert later["logs"] == []
    assert later["reports"] == []
    assert "since 'yesterday' is not a time" in bad_time


async def test_invalid_api_key_is_tool_error(server: Server) -> None:
    async with mcp_server(server.url, key="rs_wrong_key") as mcp, Client(mcp) as client:
        message = await call_error(client, "list_functions", {})
    assert "API key is invalid" in message
    assert "HTTP 401" in message


async def test_unreachable_server_is_tool_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with mcp_server(url) as mcp, Client(mcp) as client:
        message = await call_error(client, "get_function", {"function": "anything"})
    assert f"cannot reach the API at {url}" in message
    assert "ROCKETSTACK_API_URL" in message


async def test_legacy_handshake_session(server: Server, unique_name: str) -> None:
    async with mcp_server(server.url) as mcp, Client(mcp, mode="legacy") as client:
        deployed = await call(client, "deploy_function", {
            "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
            "files": GUIDE_NODE,
        })
    assert deployed["status"] == "ready"



async def test_redeploy_same_code_unchanged(server: Server, unique_name: str) -> None:
    arguments = {
        "name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler",
        "files": GUIDE_NODE,
    }
    async with mcp_server(server.url) as mcp, Client(mcp) as client:
        first = await call(client, "deploy_function", arguments)
        second = await call(client, "deploy_function", arguments)
    assert first["action"] == "created"
    assert second["action"] == "unchanged"
    assert second["version"] == first["version"]
    assert second["codeSha256"] == first["codeSha256"]
