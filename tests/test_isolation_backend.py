"""Choice of the sandbox backend: the weaker `process` backend still runs functions, and
the server logs one warning line about it at start."""

from __future__ import annotations

from pathlib import Path

from tests.harness import Server, make_zip

WHOAMI_PY = '''
import os

def handler(event, context):
    return {"uid": os.getuid(), "root": sorted(os.listdir("/"))}
'''


def test_process_backend_warns_once(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_SANDBOX": "process"}).start()
    try:
        with server.client() as api:
            function = api.deploy("whoami", "python3.12", "handler.handler", make_zip({"handler.py": WHOAMI_PY}))
            response = api.invoke(function["id"], {})
            assert response.status_code == 200, response.text
            # Without namespaces the instance lists the host's root directory.
            assert "sys" in response.json()["root"]
        warnings = [line for line in server.log().splitlines() if "weaker isolation" in line]
        assert len(warnings) == 1
        assert "ROCKETSTACK_SANDBOX=process" in warnings[0]
    finally:
        server.stop()


def test_invalid_backend_rejected_at_start(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_SANDBOX": "docker"})
    try:
        server.start(timeout=30)
    except RuntimeError as error:
        assert "ROCKETSTACK_SANDBOX='docker' is not valid" in str(error)
    else:
        raise AssertionError("the server started with ROCKETSTACK_SANDBOX=docker")
    finally:
        server.stop()
