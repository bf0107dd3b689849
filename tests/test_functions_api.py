"""List, get and delete, auth, tenant separation and request ids."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.harness import Api, Server, make_zip

CODE = make_zip({"handler.py": "def handler(event, context):\n    return 'ok'\n"})


def test_list_is_newest_first_with_cursor(fresh_server: Server) -> None:
    fresh_server.start()
    with fresh_server.client() as api:
        ids = [api.create(f"fn-{i}", "python3.12", "handler.handler", CODE).json()["data"]["resourceId"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.http.get("/v1/functions", params=params).json()["data"]
            seen.extend(f["id"] for f in page["items"])
            pages += 1
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        assert pages == 3
        bad = api.http.get("/v1/functions", params={"cursor": "garbage!"})
        assert bad.status_code == 400
        assert "cursor" in bad.json()["error"]["message"]
        assert api.http.get("/v1/functions", params={"limit": 0}).status_code == 400


def test_delete_removes_function_and_code(api: Api, server: Server, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", CODE)
    code_dir = server.data_dir / "code" / function["id"]
    assert code_dir.exists()
    assert api.invoke(function["id"], {}).json() == "ok"
    response = api.http.delete(f"/v1/functions/{function['id']}")
    assert response.status_code == 200
    assert not code_dir.exists()
    assert api.http.get(f"/v1/functions/{function['id']}").status_code == 404
    assert api.invoke(function["id"], {}).status_code == 404
    assert api.http.delete(f"/v1/functions/{function['id']}").status_code == 404
    # The name is free again.
    assert api.create(unique_name, "python3.12", "handler.handler", CODE).status_code == 202


def test_unknown_function_is_404(api: Api) -> None:
    response = api.http.get("/v1/functions/fn_doesnotexist")
    assert response.status_code == 404
    assert "fn_doesnotexist" in response.json()["error"]["message"]


def test_auth_is_required(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{server.url}/v1/functions", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "Unauthorized"
        assert response.headers["x-request-id"] == response.json()["requestId"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/openapi.json").status_code == 200


def test_tenants_are_separated(api: Api, server: Server, unique_name: str) -> None:
    output = subprocess.run(
        [sys.executable, "-m", "rocketstack.cli.main", "tenants", "create", unique_name, "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, check=True,
    ).stdout
    key = next(line.split()[-1] for line in output.splitlines() if line.startswith("API key"))
    mine = api.deploy(unique_name, "python3.12", "handler.handler", CODE)
    with server.client(key) as other:
        assert other.http.get(f"/v1/functions/{mine['id']}").status_code == 404
        assert other.invoke(mine["id"], {}).status_code == 404
        assert other.http.delete(f"/v1/functions/{mine['id']}").status_code == 404
        assert other.http.get(f"/v1/functions/{mine['id']}/logs").status_code == 404
        assert mine["id"] not in [f["id"] for f in other.http.get("/v1/functions").json()["data"]["items"]]
        # The same name is free in another tenant, with its own public URL.
        theirs = other.deploy(unique_name, "python3.12", "handler.handler", CODE, isPublic="true")
        assert theirs["id"] != mine["id"]
        assert other.invoke(theirs["id"], {}).json() == "ok"
    duplicate = subprocess.run(
        [sys.executable, "-m", "rocketstack.cli.main", "tenants", "create", unique_name, "--data-dir", str(server.data_dir)],
        capture_output=True, text=True,
    )
    assert duplicate.returncode == 5
    assert "already exists" in duplicate.stderr


def test_unknown_route_has_envelope_and_request_id(server: Server) -> None:
    response = httpx.get(f"{server.url}/v1/nothing-here")
    assert response.status_code in (401, 404)
    assert response.headers["x-request-id"]
    assert "error" in response.json()


def test_logs_reject_non_finite_times(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", CODE)
    for value in ("nan", "inf", "1e400", "-5", "yesterday"):
        response = api.http.get(f"/v1/functions/{function['id']}/logs", params={"since": value})
        assert response.status_code == 400, value
        assert "since" in response.json()["error"]["message"]
