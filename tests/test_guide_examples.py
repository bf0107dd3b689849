"""The product guide's examples, run as written against the real server."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.harness import ADMIN_KEY, EXAMPLES, Api, Server, zip_dir

GUIDE = [
    ("nodejs20.x", "index.handler", "hello-node"),
    ("python3.12", "handler.handler", "hello-python"),
]


@pytest.mark.parametrize(("runtime", "handler", "example"), GUIDE)
def test_guide_curl_create_poll_invoke(
    server: Server, api: Api, tmp_path, unique_name: str, runtime: str, handler: str, example: str
) -> None:
    code = tmp_path / "dist.zip"
    code.write_bytes(zip_dir(EXAMPLES / example))
    # The guide's cURL command, with the base URL swapped.
    output = subprocess.run(
        [
            "curl", "-s", "-X", "POST", f"{server.url}/v1/functions",
            "-H", f"Authorization: Bearer {ADMIN_KEY}",
            "-F", f"name={unique_name}",
            "-F", f"runtime={runtime}",
            "-F", f"handler={handler}",
            "-F", "code=@dist.zip",
            "-F", "isPublic=true",
            "-F", "publicMethod=POST",
            "-w", "\n%{http_code}",
        ],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    body, status = output.rsplit("\n", 1)
    assert status == "202"
    created = httpx.Response(202, content=body).json()
    assert created["requestId"]
    assert created["data"]["status"] == "creating"

    function = api.wait(created["data"]["resourceId"])
    assert function["status"] == "ready", function
    assert function["publicUrl"].startswith(server.public_url)

    response = api.invoke(function["id"], {"method": "GET", "query": {"a": "1"}})
    assert response.status_code == 200
    result = response.json()
    assert result["statusCode"] == 200
    assert httpx.Response(200, content=result["body"]).json() == {"message": "Hello", "query": {"a": "1"}}

    public = httpx.post(function["publicUrl"], json={"hello": "world"}, params={"k": ["1", "2"]})
    assert public.status_code == 200
    assert public.json() == {"received": {"hello": "world"}}
    assert public.headers["content-type"] == "application/json"

    not_allowed = httpx.get(function["publicUrl"])
    assert not_allowed.status_code == 405
    assert not_allowed.headers["allow"] == "POST"


def test_guide_get_example_echoes_query_lists(api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"),
        isPublic="true", publicMethod="GET",
    )
    response = httpx.get(function["publicUrl"], params=[("x", "1"), ("x", "2"), ("y", "3")])
    assert response.status_code == 200
    assert response.json() == {"message": "Hello", "query": {"x": ["1", "2"], "y": "3"}}
