"""Validation of the create form: each rule returns 400 naming the field, value and rule."""

from __future__ import annotations

import pytest

from tests.harness import Api, make_zip

NODE_CODE = make_zip({"index.js": "exports.handler = async () => ({ ok: true });\n"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "1abc"}, "name '1abc' is invalid"),
        ({"name": "a" * 65}, "1-64 characters"),
        ({"name": "has space"}, "only letters, numbers, hyphens and underscores"),
        ({"runtime": "python2.7"}, "use one of: nodejs20.x, python3.12"),
        ({"handler": "index"}, "fileName.exportedFunction"),
        ({"handler": "../index.handler"}, "handler '../index.handler' is invalid"),
        ({"memoryMb": "64"}, "memoryMb 64 is out of range; use a number from 128 to 10240"),
        ({"memoryMb": "10241"}, "memoryMb 10241 is out of range"),
        ({"memoryMb": "lots"}, "memoryMb 'lots' is not a whole number"),
        ({"timeoutSeconds": "0"}, "timeoutSeconds 0 is out of range; use a number from 1 to 60"),
        ({"timeoutSeconds": "61"}, "timeoutSeconds 61 is out of range"),
        ({"env": "not json"}, "env 'not json' is not valid JSON"),
        ({"env": "[1]"}, "env must be a JSON object"),
        ({"env": '{"KEY": 1}'}, "env value of 'KEY' must be a string"),
        ({"env": '{"1KEY": "x"}'}, "env key '1KEY' is invalid"),
        ({"env": '{"ROCKETSTACK_X": "x"}'}, "env key 'ROCKETSTACK_X' is reserved"),
        ({"reservedConcurrency": "101"}, "reservedConcurrency 101 is out of range; use a number from 0 to 100"),
        ({"reservedConcurrency": "-1"}, "reservedConcurrency -1 is out of range"),
        ({"description": "x" * 257}, "description is 257 characters; use at most 256"),
        ({"isPublic": "yes"}, "isPublic 'yes' is invalid"),
        ({"isPublic": "true", "publicMethod": "PUT"}, "publicMethod 'PUT' is not supported; use one of: GET, POST, PATCH, DELETE"),
        ({"memorySize": "256"}, "unknown field 'memorySize'"),
    ],
)
def test_create_rejects_invalid_field(api: Api, unique_name: str, fields: dict[str, str], expected: str) -> None:
    form = {"name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler", **fields}
    name, runtime, handler = form.pop("name"), form.pop("runtime"), form.pop("handler")
    response = api.create(name, runtime, handler, NODE_CODE, **form)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidParameterValue"
    assert expected in error["message"]
    assert response.json()["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize("missing", ["name", "runtime", "handler"])
def test_create_requires_field(api: Api, unique_name: str, missing: str) -> None:
    data = {"name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler"}
    del data[missing]
    response = api.http.post(
        "/v1/functions", data=data, files={"code": ("c.zip", NODE_CODE, "application/zip")}
    )
    assert response.status_code == 400
    assert f"{missing} is required" in response.json()["error"]["message"]


def test_create_requires_code_file(api: Api, unique_name: str) -> None:
    response = api.http.post(
        "/v1/functions",
        data={"name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler"},
        files={"other": ("x.txt", b"x")},
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "code" in message


def test_create_code_as_text_field_is_rejected(api: Api, unique_name: str) -> None:
    response = api.http.post(
        "/v1/functions",
        data={"name": unique_name, "runtime": "nodejs20.x", "handler": "index.handler", "code": "dist.zip"},
        files={"x": ("", b"")},
    )
    assert response.status_code == 400
    assert "-F code=@" in response.json()["error"]["message"]


def test_create_rejects_json_body(api: Api) -> None:
    response = api.http.post("/v1/functions", json={"name": "x"})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]["message"]


def test_create_duplicate_name_conflicts(api: Api, unique_name: str) -> None:
    first = api.create(unique_name, "nodejs20.x", "index.handler", NODE_CODE)
    assert first.status_code == 202
    second = api.create(unique_name, "nodejs20.x", "index.handler", NODE_CODE)
    assert second.status_code == 409
    assert unique_name in second.json()["error"]["message"]


def test_create_defaults_and_optional_fields(api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name,
        "nodejs20.x",
        "index.handler",
        NODE_CODE,
        env='{"GREETING":"hi"}',
        reservedConcurrency="5",
        description="a test",
        isPublic="true",
    )
    assert function["memoryMb"] == 256
    assert function["timeoutSeconds"] == 10
    assert function["env"] == {"GREETING": "hi"}
    assert function["reservedConcurrency"] == 5
    assert function["description"] == "a test"
    assert function["isPublic"] is True
    assert function["publicMethod"] == "POST"
    assert function["version"] == 1
    assert function["codeSize"] == len(NODE_CODE)
    assert len(function["codeSha256"]) == 64


def test_create_private_function_has_no_public_url(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", NODE_CODE)
    assert function["isPublic"] is False
    assert function["publicUrl"] is None
    assert function["reservedConcurrency"] is None
