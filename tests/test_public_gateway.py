"""Public URLs: routing, the one allowed method, the event shape and the response mapping."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.harness import Api, Server, make_zip

ECHO = make_zip({"handler.py": "def handler(event, context):\n    return {'statusCode': 200, 'body': event}\n"})


@pytest.fixture
def echo(api: Api, unique_name: str) -> dict:
    return api.deploy(unique_name, "python3.12", "handler.handler", ECHO, isPublic="true", publicMethod="POST")


def test_public_event_shape(echo: dict) -> None:
    response = httpx.post(
        echo["publicUrl"] + "/some/path",
        params=[("a", "1"), ("a", "2"), ("b", "x")],
        json={"k": [1, 2]},
        headers={"X-Custom": "Value"},
    )
    assert response.status_code == 200
    event = response.json()
    assert event["method"] == "POST"
    assert event["path"] == "/some/path"
    assert event["query"] == {"a": ["1", "2"], "b": "x"}
    assert event["body"] == {"k": [1, 2]}
    assert event["isBase64Encoded"] is False
    assert event["headers"]["x-custom"] == "Value"
    assert event["requestContext"]["requestId"] == response.headers["x-request-id"]
    assert event["requestContext"]["sourceIp"] == "127.0.0.1"


def test_public_body_forms(echo: dict) -> None:
    empty = httpx.post(echo["publicUrl"]).json()
    assert empty["body"] is None
    text = httpx.post(echo["publicUrl"], content=b"plain words", headers={"content-type": "text/plain"}).json()
    assert text["body"] == "plain words"
    raw = bytes(range(256))
    binary = httpx.post(echo["publicUrl"], content=raw, headers={"content-type": "application/octet-stream"}).json()
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw


def test_public_invalid_json_is_400(echo: dict) -> None:
    response = httpx.post(echo["publicUrl"], content=b"{oops", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "PUT"])
def test_public_other_method_is_405(api: Api, echo: dict, method: str) -> None:
    response = httpx.request(method, echo["publicUrl"])
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    # The handler did not run: no report was recorded for this request.
    reports = api.logs(echo["id"], requestId=response.headers["x-request-id"])["reports"]
    assert reports == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_public_method_setting(api: Api, unique_name: str, method: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", ECHO, isPublic="true", publicMethod=method)
    assert function["publicMethod"] == method
    response = httpx.request(method, function["publicUrl"], params={"q": "1"})
    assert response.status_code == 200
    assert response.json()["method"] == method
    assert response.json()["query"] == {"q": "1"}


def test_public_response_mapping(api: Api, unique_name: str) -> None:
    code = make_zip(
        {
            "index.js": (
                "exports.handler = async (e) => {\n"
                "  const q = e.query.case;\n"
                "  if (q === 'status') return { statusCode: 201, headers: { 'X-Made': 'yes', 'Content-Type': 'text/plain' }, body: 'created' };\n"
                "  if (q === 'object-body') return { statusCode: 404, body: { missing: true } };\n"
                "  if (q === 'binary') return { statusCode: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from([0, 1, 2, 255]).toString('base64'), isBase64Encoded: true };\n"
                "  if (q === 'plain') return [1, 2, 3];\n"
                "  if (q === 'no-body') return { statusCode: 204 };\n"
                "  if (q === 'own-id') return { statusCode: 200, headers: { 'X-Request-Id': 'mine' }, body: 'x' };\n"
                "  return 'just a string';\n"
                "};\n"
            )
        }
    )
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", code, isPublic="true", publicMethod="GET")
    url = function["publicUrl"]
    status = httpx.get(url, params={"case": "status"})
    assert status.status_code == 201
    assert status.headers["x-made"] == "yes"
    assert status.headers["content-type"] == "text/plain"
    assert status.text == "created"
    object_body = httpx.get(url, params={"case": "object-body"})
    assert object_body.status_code == 404
    assert object_body.json() == {"missing": True}
    binary = httpx.get(url, params={"case": "binary"})
    assert binary.content == bytes([0, 1, 2, 255])
    assert binary.headers["content-type"] == "image/png"
    plain = httpx.get(url, params={"case": "plain"})
    assert plain.status_code == 200
    assert plain.json() == [1, 2, 3]
    no_body = httpx.get(url, params={"case": "no-body"})
    assert no_body.status_code == 204
    assert no_body.content == b""
    own_id = httpx.get(url, params={"case": "own-id"})
    assert own_id.headers.get_list("x-request-id") != ["mine"]
    assert len(own_id.headers.get_list("x-request-id")) == 1
    other = httpx.get(url)
    assert other.status_code == 200
    assert other.json() == "just a string"


def test_public_handler_error_hides_stack(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    raise RuntimeError('secret detail in /srv/app')\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, isPublic="true")
    response = httpx.post(function["publicUrl"])
    assert response.status_code == 502
    assert "secret detail" not in response.text
    assert "handler.py" not in response.text
    assert response.json()["error"]["code"] == "FunctionError"


def test_public_timeout_is_504(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "import time\n\ndef handler(event, context):\n    time.sleep(5)\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, isPublic="true", timeoutSeconds=1)
    response = httpx.post(function["publicUrl"], timeout=10)
    assert response.status_code == 504


def test_public_unknown_and_private_are_404(api: Api, server: Server, unique_name: str, echo: dict) -> None:
    private = api.deploy(unique_name + "-private", "python3.12", "handler.handler", ECHO)
    token = echo["publicUrl"].split("/")[-2]
    for path in (f"/{token}/{private['name']}", f"/{token}/no-such-function", "/unknown-token/x", "/", "/only-token"):
        response = httpx.post(server.public_url + path)
        assert response.status_code == 404, path
        assert response.headers["x-request-id"]


def test_public_url_after_delete_is_404(api: Api, echo: dict) -> None:
    assert httpx.post(echo["publicUrl"]).status_code == 200
    assert api.http.delete(f"/v1/functions/{echo['id']}").status_code == 200
    assert httpx.post(echo["publicUrl"]).status_code == 404
