"""A handler that ends its own process gets a prompt error naming the exit status, not a
timeout, and the next invocation gets a fresh instance."""

from __future__ import annotations

import pytest

from tests.harness import Api, make_zip

EXIT_PY = '''
import os, sys

def handler(event, context):
    print("about to exit")
    if event["how"] == "sys.exit":
        sys.exit(event["status"])
    if event["how"] == "os._exit":
        os._exit(event["status"])
    return "stayed"
'''

EXIT_NODE = '''
exports.handler = async (event) => {
  console.log('about to exit');
  if (event.how === 'process.exit') process.exit(event.status);
  return 'stayed';
};
'''


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "how", "status"),
    [
        ("python3.12", "handler.handler", {"handler.py": EXIT_PY}, "sys.exit", 3),
        ("python3.12", "handler.handler", {"handler.py": EXIT_PY}, "os._exit", 4),
        ("nodejs20.x", "index.handler", {"index.js": EXIT_NODE}, "process.exit", 5),
    ],
    ids=["sys.exit", "os._exit", "process.exit"],
)
def test_exit_reports_status(
    api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str], how: str, status: int
) -> None:
    # A timeout far above the test's patience: only prompt exit detection passes.
    function = api.deploy(unique_name, runtime, handler, make_zip(files), timeoutSeconds=60)
    response = api.invoke(function["id"], {"how": how, "status": status}, timeout=20)
    assert response.status_code == 500, response.text
    error = response.json()
    assert error["errorType"] == "ProcessExited"
    assert f"exit status {status}" in error["errorMessage"]
    logs = api.logs(function["id"], requestId=response.headers["x-rocketstack-request-id"])["logs"]
    assert "about to exit" in [record["message"] for record in logs]
    assert api.invoke(function["id"], {"how": "stay", "status": 0}).json() == "stayed"
