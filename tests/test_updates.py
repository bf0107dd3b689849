"""Updates of functions: new code or configuration with no downtime, failed updates that
leave the old version serving, and renames that move the public URL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.harness import Api, Server
from tests.lifecycle_support import python_code, returning, wait_update


def test_update_under_load_sees_old_or_new(server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("{'v': 1}"))
    function_id = function["id"]
    stop = threading.Event()
    outcomes: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def invoke_in_loop() -> None:
        with server.client() as client:
            deadline = time.monotonic() + 30
            count = 0
            while not stop.is_set() and time.monotonic() < deadline and count < 5000:
                response = client.invoke(function_id, {})
                body = (
                    response.json()
                    if response.headers.get("content-type") == "application/json"
                    else None
                )
                with lock:
                    outcomes.append((response.status_code, body))
                count += 1

    threads = [threading.Thread(target=invoke_in_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        # The new version takes a while to load, so invocations run during the update.
        response = api.http.patch(
            f"/v1/functions/{function_id}",
            files={"code": ("code.zip", returning("{'v': 2}", module="time.sleep(0.5)"))},
        )
        assert response.status_code == 202, response.text
        assert response.json()["data"]["lastUpdateStatus"] == "InProgress"
        updated = wait_update(api, function_id)
        with lock:
            seen_before_switch = len(outcomes)
        # Let the loop run on the new version for a little while.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if len(outcomes) >= seen_before_switch + 30:
                    break
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert updated["lastUpdateStatus"] == "Successful"
    assert updated["version"] == 2
    assert updated["status"] == "ready"
    statuses = {status for status, _ in outcomes}
    assert statuses == {200}
    results = [body for _, body in outcomes]
    assert all(body in ({"v": 1}, {"v": 2}) for body in results)
    assert {"v": 1} in results
    assert results[-1] == {"v": 2}
    assert api.invoke(function_id, {}).json() == {"v": 2}


def test_update_failed_keeps_old_version(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("'old'"))
    broken = python_code("    return 'new'", module="def broken(:\n    pass")
    response = api.http.patch(
        f"/v1/functions/{function['id']}", files={"code": ("code.zip", broken)}
    )
    assert response.status_code == 202, response.text

    failed = wait_update(api, function["id"])

    assert failed["lastUpdateStatus"] == "Failed"
    assert "SyntaxError" in failed["lastUpdateStatusReason"]
    assert failed["status"] == "ready"
    assert failed["version"] == 1
    assert failed["codeSha256"] == function["codeSha256"]
    assert api.invoke(function["id"], {}).json() == "old"
    versions = api.http.get(f"/v1/functions/{function['id']}/versions").json()["data"]["items"]
    assert [v["version"] for v in versions] == [1]


def test_update_missing_handler_fails(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("'old'"))
    response = api.http.patch(
        f"/v1/functions/{function['id']}", json={"handler": "handler.missing"}
    )
    assert response.status_code == 202, response.text

    failed = wait_update(api, function["id"])

    assert failed["lastUpdateStatus"] == "Failed"
    assert "missing" in failed["lastUpdateStatusReason"]
    assert failed["handler"] == "handler.handler"
    assert api.invoke(function["id"], {}).json() == "old"


def test_update_config_only_json(api: Api, unique_name: str) -> None:
    code = returning(
        "{'greeting': os.environ.get('GREETING'), 'memory': context.memory_limit_in_mb}"
    )
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    assert api.invoke(function["id"], {}).json() == {"greeting": None, "memory": 256}

    response = api.http.patch(
        f"/v1/functions/{function['id']}",
        json={
            "memoryMb": 512,
            "env": {"GREETING": "hello"},
            "timeoutSeconds": 5,
            "description": "configured",
            "maxRetryAttempts": 4,
            "maxEventAgeSeconds": 120,
        },
    )
    assert response.status_code == 202, response.text
    updated = wait_update(api, function["id"])

    assert updated["lastUpdateStatus"] == "Successful"
    assert updated["lastUpdateStatusReason"] is None
    assert updated["version"] == 2
    assert updated["memoryMb"] == 512
    assert updated["timeoutSeconds"] == 5
    assert updated["env"] == {"GREETING": "hello"}
    assert updated["description"] == "configured"
    assert updated["maxRetryAttempts"] == 4
    assert updated["maxEventAgeSeconds"] == 120
    assert updated["codeSha256"] == function["codeSha256"]
    assert api.invoke(function["id"], {}).json() == {"greeting": "hello", "memory": 512}


def test_update_multipart_fields_and_code(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("'one'"))
    response = api.http.patch(
        f"/v1/functions/{function['id']}",
        data={"timeoutSeconds": "7", "reservedConcurrency": "3"},
        files={"code": ("code.zip", returning("'two'"))},
    )
    assert response.status_code == 202, response.text
    updated = wait_update(api, function["id"])

    assert updated["lastUpdateStatus"] == "Successful"
    assert updated["timeoutSeconds"] == 7
    assert updated["reservedConcurrency"] == 3
    assert updated["codeSha256"] != function["codeSha256"]
    assert api.invoke(function["id"], {}).json() == "two"


def test_update_rejects_invalid_input(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("1"))
    other = api.deploy(unique_name + "-b", "python3.12", "handler.handler", returning("2"))
    url = f"/v1/functions/{function['id']}"
    cases = [
        (api.http.patch(url, json={"memoryMb": 5}), 400, "memoryMb"),
        (api.http.patch(url, json={"colour": "red"}), 400, "colour"),
        (api.http.patch(url, json={"code": "abc"}), 400, "multipart"),
        (api.http.patch(url, json={"env": ["A"]}), 400, "env"),
        (api.http.patch(url, json={"maxRetryAttempts": 6}), 400, "maxRetryAttempts"),
        (api.http.patch(url, json={}), 400, "nothing"),
        (api.http.patch(url, json=[1]), 400, "JSON object"),
        (
            api.http.patch(url, content=b"memoryMb=5", headers={"content-type": "text/plain"}),
            415,
            "multipart",
        ),
        (api.http.patch(url, json={"name": other["name"]}), 409, other["name"]),
        (api.http.patch("/v1/functions/fn_missing", json={"memoryMb": 512}), 404, "fn_missing"),
    ]
    for response, status, word in cases:
        assert response.status_code == status, response.text
        assert word in response.json()["error"]["message"]
    assert api.get(function["id"])["lastUpdateStatus"] is None


def test_update_in_progress_rejects_another(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("1"))
    url = f"/v1/functions/{function['id']}"
    slow = returning("2", module="time.sleep(1.5)")
    first = api.http.patch(url, files={"code": ("code.zip", slow)})
    assert first.status_code == 202, first.text

    second = api.http.patch(url, json={"memoryMb": 512})
    rollback = api.http.post(f"{url}/rollback", json={"version": 1})

    assert second.status_code == 409
    assert "in progress" in second.json()["error"]["message"]
    assert rollback.status_code == 409
    assert wait_update(api, function["id"])["lastUpdateStatus"] == "Successful"
    assert api.invoke(function["id"], {}).json() == 2


def test_rename_moves_public_url(api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name,
        "python3.12",
        "handler.handler",
        returning("{'statusCode': 200, 'body': 'hi'}"),
        isPublic="true",
        publicMethod="GET",
    )
    old_url = function["publicUrl"]
    assert httpx.get(old_url).text == "hi"

    response = api.http.patch(
        f"/v1/functions/{function['id']}", json={"name": unique_name + "-new"}
    )
    assert response.status_code == 202, response.text
    renamed = wait_update(api, function["id"])

    assert renamed["lastUpdateStatus"] == "Successful"
    assert renamed["name"] == unique_name + "-new"
    assert renamed["version"] == function["version"]
    assert renamed["publicUrl"] == old_url + "-new"
    assert httpx.get(old_url).status_code == 404
    assert httpx.get(renamed["publicUrl"]).text == "hi"


def test_update_public_flag_and_method(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("{'ok': True}"))
    assert function["publicUrl"] is None

    response = api.http.patch(f"/v1/functions/{function['id']}", json={"isPublic": True})
    assert response.status_code == 202, response.text
    public = wait_update(api, function["id"])

    assert public["isPublic"] is True
    assert public["publicMethod"] == "POST"
    assert httpx.post(public["publicUrl"]).json() == {"ok": True}
    listed = api.http.get(f"/v1/functions/{function['id']}/invocations").json()["data"]["items"]
    # Public settings belong to the function, not to a version: no version was added.
    assert [(i["type"], i["trigger"], i["version"]) for i in listed] == [("sync", "public", 1)]
    versions = api.http.get(f"/v1/functions/{function['id']}/versions").json()["data"]["items"]
    assert [v["version"] for v in versions] == [1]

    response = api.http.patch(f"/v1/functions/{function['id']}", json={"isPublic": False})
    assert response.status_code == 202, response.text
    private = wait_update(api, function["id"])
    assert private["publicUrl"] is None
    assert httpx.post(public["publicUrl"]).status_code == 404


def test_update_repairs_failed_create(api: Api, unique_name: str) -> None:
    response = api.create(
        unique_name, "python3.12", "handler.handler", returning("1", module="import missing_module")
    )
    assert response.status_code == 202, response.text
    function = api.wait(response.json()["data"]["resourceId"])
    assert function["status"] == "failed"

    response = api.http.patch(
        f"/v1/functions/{function['id']}", files={"code": ("code.zip", returning("'fixed'"))}
    )
    assert response.status_code == 202, response.text
    repaired = wait_update(api, function["id"])

    assert repaired["lastUpdateStatus"] == "Successful"
    assert repaired["status"] == "ready"
    assert repaired["statusReason"] is None
    assert repaired["version"] == 1
    assert api.invoke(function["id"], {}).json() == "fixed"
