"""Helpers shared by the update, version, queue and schedule tests."""

from __future__ import annotations

import time
from typing import Any

from tests.harness import Api, make_zip


def python_code(body: str, module: str = "") -> bytes:
    """Return a ZIP whose handler.handler runs `body` (indented by the caller) after the
    module-level lines `module`."""
    return make_zip(
        {"handler.py": f"import os, time\n{module}\ndef handler(event, context):\n{body}\n"}
    )


def returning(value: str, module: str = "") -> bytes:
    return python_code(f"    return {value}", module)


def wait_update(api: Api, function_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the function's update leaves InProgress; return the function."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        function = api.get(function_id)
        if function["lastUpdateStatus"] != "InProgress":
            return function
        time.sleep(0.05)
    raise AssertionError(f"update of {function_id} still in progress after {timeout} s")


def get_invocation(api: Api, invocation_id: str) -> dict[str, Any]:
    response = api.http.get(f"/v1/invocations/{invocation_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def wait_invocation(
    api: Api,
    invocation_id: str,
    statuses: tuple[str, ...] = ("succeeded", "failed"),
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Poll until the invocation has one of `statuses`; return it."""
    deadline = time.monotonic() + timeout
    invocation: dict[str, Any] = {}
    while time.monotonic() < deadline:
        invocation = get_invocation(api, invocation_id)
        if invocation["status"] in statuses:
            return invocation
        time.sleep(0.05)
    raise AssertionError(
        f"invocation {invocation_id} not in {statuses} after {timeout} s: {invocation}"
    )


def enqueue(api: Api, function_id: str, event: Any) -> str:
    response = api.invoke(function_id, event, headers={"X-Invocation-Type": "Event"})
    assert response.status_code == 202, response.text
    return str(response.json()["data"]["invocationId"])


def list_invocations(api: Api, function_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.http.get(f"/v1/functions/{function_id}/invocations", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])
