"""`rocketstack functions` against the real server: deploy the guide's examples from their
folders, redeploy, invoke with each data form, read and follow logs, delete, and every
error exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import Cli
from tests.harness import ADMIN_KEY, EXAMPLES, Server, free_port


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return Cli(server, tmp_path / "config.toml")


def deploy_example(cli: Cli, name: str, example: str, *extra: str) -> dict:
    runtime, handler = (
        ("nodejs20.x", "index.handler")
        if example == "hello-node"
        else ("python3.12", "handler.handler")
    )
    return cli.json(
        "functions",
        "deploy",
        str(EXAMPLES / example),
        "--name",
        name,
        "--runtime",
        runtime,
        "--handler",
        handler,
        *extra,
    )


def supports_updates(server: Server) -> bool:
    document = httpx.get(f"{server.url}/openapi.json").json()
    return "patch" in document["paths"].get("/v1/functions/{function_id}", {})


@pytest.mark.parametrize("example", ["hello-node", "hello-python"])
def test_cli_deploy_guide_example(cli: Cli, unique_name: str, tmp_path: Path, example: str) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("# settings\nexport GREETING='hello there'\nLEVEL=info\n\n")
    deployed = deploy_example(
        cli,
        unique_name,
        example,
        "--memory",
        "512",
        "--timeout",
        "5",
        "--env",
        "LEVEL=debug",
        "-e",
        "EXTRA=a=b",
        "--env-file",
        str(env_file),
        "--reserved-concurrency",
        "5",
        "--description",
        "guide example",
        "--public",
        "--public-method",
        "get",
    )
    assert deployed["action"] == "created"
    function = deployed["function"]
    assert function["status"] == "ready"
    assert function["memoryMb"] == 512
    assert function["timeoutSeconds"] == 5
    assert function["env"] == {"GREETING": "hello there", "LEVEL": "debug", "EXTRA": "a=b"}
    assert function["reservedConcurrency"] == 5
    assert function["description"] == "guide example"
    assert function["isPublic"] is True
    assert function["publicMethod"] == "GET"

    public = httpx.get(function["publicUrl"], params={"a": "1"})
    assert public.status_code == 200
    assert public.json() == {"message": "Hello", "query": {"a": "1"}}

    # The same files from another folder (other paths, other times) are the same ZIP.
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLES / example, copy)
    os.utime(next(copy.iterdir()), (1_000_000, 1_000_000))
    again = cli.json("functions", "deploy", str(copy), "--name", unique_name)
    assert again["action"] == "unchanged"
    assert again["function"]["version"] == function["version"]
    assert again["function"]["codeSha256"] == function["codeSha256"]


def test_cli_deploy_retry_settings(cli: Cli, unique_name: str) -> None:
    deployed = deploy_example(
        cli, unique_name, "hello-python", "--max-retry-attempts", "0", "--max-event-age", "600"
    )
    assert deployed["function"]["maxRetryAttempts"] == 0
    assert deployed["function"]["maxEventAgeSeconds"] == 600
    changed = cli.json(
        "functions", "deploy", str(EXAMPLES / "hello-python"), "--name", unique_name,
        "--max-retry-attempts", "3",
    )
    assert changed["action"] == "updated"
    assert changed["function"]["maxRetryAttempts"] == 3
    assert changed["function"]["maxEventAgeSeconds"] == 600


def test_cli_deploy_human_output(cli: Cli, unique_name: str) -> None:
    result = cli(
        "functions",
        "deploy",
        str(EXAMPLES / "hello-node"),
        "--name",
        unique_name,
        "--runtime",
        "nodejs20.x",
        "--handler",
        "index.handler",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"created function {unique_name} (fn_")
    assert "version 1: ready" in result.stdout
    assert f"Deploying {EXAMPLES / 'hello-node'} as {unique_name}" in result.stderr

    again = cli("functions", "deploy", str(EXAMPLES / "hello-node"), "--name", unique_name)
    assert again.exit_code == 0, again.stderr
    assert "is unchanged, version 1: ready" in again.stdout


def test_cli_deploy_no_wait(cli: Cli, unique_name: str) -> None:
    deployed = deploy_example(cli, unique_name, "hello-python", "--no-wait")
    assert deployed["action"] == "created"
    assert deployed["function"]["status"] in ("creating", "ready")


def test_cli_deploy_changed_settings(server: Server, cli: Cli, unique_name: str) -> None:
    deploy_example(cli, unique_name, "hello-python")
    result = cli(
        "functions",
        "deploy",
        str(EXAMPLES / "hello-python"),
        "--name",
        unique_name,
        "--memory",
        "1024",
    )
    if supports_updates(server):
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 5
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert "does not support updates" in error


def test_cli_invoke_data_forms(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    deploy_example(cli, unique_name, "hello-python")
    event = {"method": "POST", "body": {"n": 1}}
    expected = {"received": {"n": 1}}
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))

    for args, stdin in [
        (["--data", json.dumps(event)], None),
        (["--data", f"@{event_file}"], None),
        (["-d", "-"], json.dumps(event)),
    ]:
        result = cli("functions", "invoke", unique_name, *args, input=stdin)
        assert result.exit_code == 0, result.stderr
        assert json.loads(json.loads(result.stdout)["body"]) == expected
        assert result.stderr.startswith("REPORT RequestId: ")
        assert "Duration: " in result.stderr

    default = cli("functions", "invoke", unique_name)
    assert default.exit_code == 0, default.stderr
    assert json.loads(json.loads(default.stdout)["body"]) == {"message": "Hello", "query": {}}


def test_cli_invoke_json_and_logs(cli: Cli, unique_name: str) -> None:
    deploy_example(cli, unique_name, "hello-node")
    document = cli.json("functions", "invoke", unique_name, "--data", '{"method": "GET"}', "--logs")
    assert document["statusCode"] == 200
    assert document["result"]["statusCode"] == 200
    assert document["report"]["requestId"] == document["requestId"]
    assert document["report"]["outcome"] == "success"
    assert document["logs"] == []


def test_cli_invoke_handler_error(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "index.js").write_text(
        "exports.handler = async () => {\n"
        "  console.log('about to fail');\n"
        "  throw new RangeError('bad');\n"
        "};\n"
    )
    cli.json(
        "functions",
        "deploy",
        str(tmp_path),
        "--name",
        unique_name,
        "-r",
        "nodejs20.x",
        "--handler",
        "index.handler",
    )
    result = cli("functions", "invoke", unique_name, "--logs")
    assert result.exit_code == 9
    assert json.loads(result.stdout)["errorType"] == "RangeError"
    assert "about to fail" in result.stderr
    assert "REPORT RequestId: " in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the handler failed with RangeError: bad (request id ")

    as_json = cli("functions", "invoke", unique_name, "--json")
    assert as_json.exit_code == 9
    assert json.loads(as_json.stdout)["error"]["errorMessage"] == "bad"
    assert json.loads(as_json.stderr)["error"]["errorType"] == "RangeError"


def test_cli_invoke_input_errors(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    deploy_example(cli, unique_name, "hello-python")
    invalid = cli("functions", "invoke", unique_name, "--data", "{nope")
    assert invalid.exit_code == 2
    assert invalid.stderr.startswith("error: --data is not valid JSON")
    missing = cli("functions", "invoke", unique_name, "--data", f"@{tmp_path / 'none.json'}")
    assert missing.exit_code == 2
    assert "cannot read --data file" in missing.stderr
    unknown = cli("functions", "invoke", unique_name + "-none")
    assert unknown.exit_code == 4
    assert "rocketstack functions list" in unknown.stderr


def test_cli_invoke_paused(cli: Cli, unique_name: str) -> None:
    deploy_example(cli, unique_name, "hello-python", "--reserved-concurrency", "0")
    result = cli("functions", "invoke", unique_name)
    assert result.exit_code == 10
    assert "paused" in result.stderr
    assert "request id" in result.stderr


def test_cli_logs(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(
        "def handler(event, context):\n    print('seen', event['n'])\n    return event['n']\n"
    )
    cli.json(
        "functions",
        "deploy",
        str(tmp_path),
        "--name",
        unique_name,
        "-r",
        "python3.12",
        "--handler",
        "handler.handler",
    )
    first = cli.json("functions", "invoke", unique_name, "--data", '{"n": 1}')
    cli.json("functions", "invoke", unique_name, "--data", '{"n": 2}')

    everything = cli("functions", "logs", unique_name)
    assert everything.exit_code == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert [line.split("\t")[-1] for line in lines if "\tseen" in line] == ["seen 1", "seen 2"]
    assert sum(" REPORT RequestId: " in line for line in lines) == 2

    records = cli("functions", "logs", unique_name, "--request-id", first["requestId"], "--json")
    assert records.exit_code == 0, records.stderr
    parsed = [json.loads(line) for line in records.stdout.splitlines()]
    assert [record["type"] for record in parsed] == ["log", "report"]
    assert {record["requestId"] for record in parsed} == {first["requestId"]}

    recent = cli("functions", "logs", unique_name, "--since", "1h")
    assert recent.stdout == everything.stdout
    future = cli("functions", "logs", unique_name, "--since", "2999-01-01T00:00:00Z")
    assert future.exit_code == 0
    assert future.stdout == ""
    bad = cli("functions", "logs", unique_name, "--since", "yesterday")
    assert bad.exit_code == 2
    assert "since" in bad.stderr


def test_cli_logs_follow(server: Server, cli: Cli, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(
        "def handler(event, context):\n    print('marker', event['n'])\n    return 1\n"
    )
    cli.json(
        "functions",
        "deploy",
        str(tmp_path),
        "--name",
        unique_name,
        "-r",
        "python3.12",
        "--handler",
        "handler.handler",
    )
    env = {**os.environ, **cli.env}
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rocketstack.cli.main",
            "functions",
            "logs",
            unique_name,
            "--follow",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 30
        for n in (1, 2):
            cli.json("functions", "invoke", unique_name, "--data", json.dumps({"n": n}))
            assert follower.stdout is not None
            while time.monotonic() < deadline:
                line = follower.stdout.readline()
                assert line, follower.stderr.read() if follower.stderr else ""
                seen.append(line)
                if "REPORT" in line:
                    break
        messages = [line.rstrip("\n").split("\t")[-1] for line in seen if "\tmarker" in line]
        assert messages == ["marker 1", "marker 2"]
    finally:
        follower.terminate()
        follower.communicate(timeout=10)


def test_cli_list_get_delete(cli: Cli, unique_name: str) -> None:
    created = deploy_example(cli, unique_name, "hello-node")["function"]
    listed = cli.json("functions", "list")
    assert created["id"] in [function["id"] for function in listed]
    table = cli("functions", "list")
    assert table.stdout.startswith("NAME")
    assert any(line.startswith(unique_name + " ") for line in table.stdout.splitlines())

    assert cli.json("functions", "get", unique_name)["id"] == created["id"]
    assert cli.json("functions", "get", created["id"])["name"] == unique_name
    shown = cli("functions", "get", unique_name)
    assert f"id:                   {created['id']}" in shown.stdout

    refused = cli("functions", "delete", unique_name)
    assert refused.exit_code == 2
    assert "pass --yes" in refused.stderr
    assert cli.json("functions", "get", unique_name)["id"] == created["id"]

    deleted = cli.json("functions", "delete", unique_name, "--yes")
    assert deleted == {"id": created["id"], "name": unique_name, "deleted": True}
    gone = cli("functions", "get", unique_name)
    assert gone.exit_code == 4
    gone_json = cli("functions", "get", created["id"], "--json")
    assert gone_json.exit_code == 4
    assert json.loads(gone_json.stderr)["error"]["exitCode"] == 4


def test_cli_deploy_input_errors(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "main.js").write_text("exports.handler = async () => 1;\n")
    cases = [
        (["--runtime", "nodejs20.x", "--handler", "index.handler"], 2, "entry file index.js"),
        (["--handler", "index.handler"], 3, "runtime is required"),
        (["--runtime", "nodejs20.x", "--handler", "main.handler", "--memory", "5"], 2, "memoryMb"),
        (
            ["--runtime", "nodejs20.x", "--handler", "main.handler", "--env", "NOEQUALS"],
            2,
            "KEY=VALUE",
        ),
        (
            [
                "--runtime",
                "nodejs20.x",
                "--handler",
                "main.handler",
                "--private",
                "--public-method",
                "GET",
            ],
            2,
            "--private",
        ),
        (
            [
                "--runtime",
                "nodejs20.x",
                "--handler",
                "main.handler",
                "--env-file",
                str(tmp_path / "none"),
            ],
            2,
            "--env-file",
        ),
        (
            ["--runtime", "go1.x", "--handler", "main.handler"],
            2,
            "runtime 'go1.x' is not supported",
        ),
    ]
    for args, code, message in cases:
        result = cli("functions", "deploy", str(tmp_path), "--name", unique_name, *args)
        assert result.exit_code == code, (args, result.stderr)
        last = result.stderr.splitlines()[-1]
        assert message in last, args
        assert last.startswith("error: "), args

    no_name = cli("functions", "deploy", str(tmp_path))
    assert no_name.exit_code == 2
    missing_dir = cli(
        "functions",
        "deploy",
        str(tmp_path / "nope"),
        "--name",
        unique_name,
        "-r",
        "nodejs20.x",
        "--handler",
        "index.handler",
    )
    assert missing_dir.exit_code == 2
    assert "does not exist; pass a folder or a .zip file" in missing_dir.stderr


def test_cli_deploy_failure_reason(cli: Cli, unique_name: str, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def other(event, context):\n    return 1\n")
    result = cli(
        "functions",
        "deploy",
        str(tmp_path),
        "--name",
        unique_name,
        "-r",
        "python3.12",
        "--handler",
        "handler.handler",
    )
    assert result.exit_code == 8
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: function {unique_name!r} failed: ")
    )
    not_ready = cli("functions", "invoke", unique_name)
    assert not_ready.exit_code == 5
    assert "is failed" in not_ready.stderr
    assert "request id" in not_ready.stderr


def test_cli_connection_errors(cli: Cli, server: Server) -> None:
    no_key = cli("functions", "list", env={"ROCKETSTACK_API_KEY": None})
    assert no_key.exit_code == 3
    assert "no API key" in no_key.stderr
    bad_key = cli("functions", "list", "--api-key", "rs_wrong")
    assert bad_key.exit_code == 6
    assert "--api-key" in bad_key.stderr
    down = cli("functions", "list", "--api-url", f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == 7
    assert "cannot reach the API" in down.stderr
    assert down.stderr.count("\n") == 1
    flags = cli(
        "functions",
        "list",
        "--api-url",
        server.url,
        "--api-key",
        ADMIN_KEY,
        env={"ROCKETSTACK_API_KEY": None},
    )
    assert flags.exit_code == 0
