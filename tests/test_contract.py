"""The API as a contract: the OpenAPI document covers every route with its error
responses, and a property-based fuzzer (schemathesis) sends generated requests, valid and
invalid, to every operation of a running server, which must never return 500 nor send a
response that its own document does not describe."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rocketstack.client import Client
from tests.harness import ADMIN_KEY, Server

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
HOOKS = Path(__file__).resolve().parent / "fuzz_hooks.py"

# Generated requests per operation and phase: enough to reach every parameter and status
# code, few enough to keep the run short on two cores.
MAX_EXAMPLES = 20
SEED = 20261204

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
]

ECHO = {"handler.py": "def handler(event, context):\n    print('event', event)\n    return event\n"}


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, since fuzzing creates tenants, keys and functions."""
    instance = Server(tmp_path_factory.mktemp("contract") / "data").start()
    yield instance
    instance.stop()


FUZZ_CONFIG = f"""
seed = {SEED}

[generation]
max-examples = {MAX_EXAMPLES}

[phases]
examples.enabled = true
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = true
"""


def test_api_fuzzing(contract_server: Server, tmp_path: Path) -> None:
    with Client(contract_server.url, ADMIN_KEY) as client:
        echo = client.deploy("echo", ECHO, runtime="python3.12", handler="handler.handler")
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG)
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(config),
        "run", f"{contract_server.url}/openapi.json",
        "--header", f"Authorization: Bearer {ADMIN_KEY}",
        "--checks", ",".join(CHECKS),
        "--workers", "1",
        "--request-timeout", "60",
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "ROCKETSTACK_FUZZ_FUNCTION_ID": echo.function.id,
    }
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, report
    document = httpx.get(f"{contract_server.url}/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert f"Tested: {operations}" in run.stdout, report

    # The hook kept the ready function alive, so generated events reached its handler.
    with Client(contract_server.url, ADMIN_KEY) as client:
        assert client.get_function(echo.function.id).status == "ready"
        assert client.logs(echo.function.id).reports, "no generated event reached the handler"


def test_openapi_documents_every_route(contract_server: Server) -> None:
    document = httpx.get(f"{contract_server.url}/openapi.json").json()
    operations = {
        (method, path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert ("post", "/v1/functions") in operations
    assert ("post", "/v1/functions/{function_id}/invoke") in operations
    for (method, path), operation in operations.items():
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        for status, response in responses.items():
            assert response["description"], (method, path, status)
            assert "application/json" in response.get("content", {}), (method, path, status)
        if not path.startswith("/v1/"):
            continue
        assert operation["security"] == [{"bearerAuth": []}], (method, path)
        assert "401" in responses, (method, path)
        if "{function_id}" in path:
            assert "404" in responses, (method, path)


def test_openapi_create_form_schema(contract_server: Server) -> None:
    document = httpx.get(f"{contract_server.url}/openapi.json").json()
    body = document["paths"]["/v1/functions"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]["schema"]
    assert body["required"] is True
    assert form["required"] == ["name", "runtime", "handler", "code"]
    assert form["properties"]["code"] == {"type": "string", "format": "binary"}
    assert form["properties"]["runtime"]["enum"] == ["nodejs20.x", "python3.12"]


def test_docs_cover_every_operation(contract_server: Server) -> None:
    document = httpx.get(f"{contract_server.url}/openapi.json").json()
    text = DOCS.read_text()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            heading = f"### `{method.upper()} {path}`"
            assert heading in text, heading
            section = text.split(heading, 1)[1].split("\n### ", 1)[0]
            for status in operation["responses"]:
                assert f"| {status} |" in section, (heading, status)


def test_docs_match_document_statuses(contract_server: Server) -> None:
    """Every status docs/api.md lists for an operation is one the document declares."""
    document = httpx.get(f"{contract_server.url}/openapi.json").json()
    text = DOCS.read_text()
    for section in text.split("\n### `")[1:]:
        title, _, body = section.partition("\n")
        method, path = title.rstrip("`").split(" ", 1)
        declared = set(document["paths"][path][method.lower()]["responses"])
        listed = {
            line.split("|")[1].strip()
            for line in body.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()
        }
        assert listed == declared, (title, listed ^ declared)


