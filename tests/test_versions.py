"""Numbered, immutable versions of a function and rollback to one of them."""

from __future__ import annotations

from tests.harness import Api
from tests.lifecycle_support import returning, wait_update


def _update(api: Api, function_id: str, **kwargs: object) -> dict[str, object]:
    response = api.http.patch(f"/v1/functions/{function_id}", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 202, response.text
    updated = wait_update(api, function_id)
    assert updated["lastUpdateStatus"] == "Successful", updated
    return updated


def test_versions_list_every_successful_change(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("'one'"))
    _update(api, function["id"], files={"code": ("code.zip", returning("'two'"))})
    _update(api, function["id"], json={"memoryMb": 1024, "env": {"K": "v"}})

    response = api.http.get(f"/v1/functions/{function['id']}/versions")

    assert response.status_code == 200, response.text
    versions = response.json()["data"]["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["current"] for v in versions] == [True, False, False]
    assert [v["source"] for v in versions] == ["update", "update", "create"]
    assert versions[2]["codeSha256"] == function["codeSha256"]
    assert versions[1]["codeSha256"] != function["codeSha256"]
    assert versions[0]["codeSha256"] == versions[1]["codeSha256"]
    assert versions[0]["memoryMb"] == 1024
    assert versions[0]["env"] == {"K": "v"}
    assert versions[1]["memoryMb"] == 256
    one = api.http.get(f"/v1/functions/{function['id']}/versions/1").json()["data"]
    assert one == versions[2]


def test_rollback_restores_code_and_configuration(api: Api, unique_name: str) -> None:
    code = returning("{'v': 'one', 'k': os.environ.get('K')}")
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, env='{"K": "first"}')
    _update(
        api,
        function["id"],
        files={"code": ("code.zip", returning("{'v': 'two', 'k': os.environ.get('K')}"))},
        data={"env": '{"K": "second"}', "memoryMb": "512", "reservedConcurrency": "5"},
    )
    assert api.invoke(function["id"], {}).json() == {"v": "two", "k": "second"}

    response = api.http.post(f"/v1/functions/{function['id']}/rollback", json={"version": 1})
    assert response.status_code == 202, response.text
    assert response.json()["data"]["rollbackTo"] == 1
    rolled_back = wait_update(api, function["id"])

    assert rolled_back["lastUpdateStatus"] == "Successful"
    assert rolled_back["version"] == 3
    assert rolled_back["codeSha256"] == function["codeSha256"]
    assert rolled_back["env"] == {"K": "first"}
    assert rolled_back["memoryMb"] == 256
    # Concurrency belongs to the function, not to a version.
    assert rolled_back["reservedConcurrency"] == 5
    assert api.invoke(function["id"], {}).json() == {"v": "one", "k": "first"}
    latest = api.http.get(f"/v1/functions/{function['id']}/versions").json()["data"]["items"][0]
    assert latest["version"] == 3
    assert latest["source"] == "rollback"
    assert latest["rolledBackFrom"] == 1


def test_rollback_rejects_invalid_requests(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("1"))
    url = f"/v1/functions/{function['id']}/rollback"
    cases = [
        (api.http.post(url, json={"version": 9}), 404, "no version 9"),
        (api.http.post(url, json={"version": "1"}), 400, "version"),
        (api.http.post(url, json={"version": 0}), 400, "version"),
        (api.http.post(url, json={}), 400, "version"),
        (api.http.post(url, json={"version": 1, "extra": 1}), 400, "extra"),
        (
            api.http.post(url, content=b"nope", headers={"content-type": "application/json"}),
            400,
            "JSON",
        ),
        (
            api.http.post("/v1/functions/fn_missing/rollback", json={"version": 1}),
            404,
            "fn_missing",
        ),
        (api.http.get(f"/v1/functions/{function['id']}/versions/7"), 404, "no version 7"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert words in response.json()["error"]["message"]
    assert api.get(function["id"])["version"] == 1


def test_versions_removed_with_function(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", returning("1"))
    _update(api, function["id"], json={"memoryMb": 512})

    assert api.http.delete(f"/v1/functions/{function['id']}").status_code == 200

    response = api.http.get(f"/v1/functions/{function['id']}/versions")
    assert response.status_code == 404
