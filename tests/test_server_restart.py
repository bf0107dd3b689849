"""Server start-up: the first key, settings from the environment, and no function left in
`creating` after a stop or crash in the middle of a preparation."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import Server, free_port, make_zip

SLOW_INIT = make_zip({"handler.py": "import time\ntime.sleep(3)\n\ndef handler(event, context):\n    return 'slow-ok'\n"})


def test_first_start_generates_and_prints_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port, public_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROCKETSTACK_")}
    env.update(
        ROCKETSTACK_DATA_DIR=str(data_dir),
        ROCKETSTACK_PORT=str(port),
        ROCKETSTACK_PUBLIC_PORT=str(public_port),
        ROCKETSTACK_PUBLIC_BASE_URL="https://fn.example.test",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "rocketstack.cli.main", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "API key:" in line:
                break
        output = "".join(lines)
        key = output.split("API key:")[1].split()[0]
        assert key.startswith("rs_")
        assert f"http://127.0.0.1:{port}" in output
        assert "https://fn.example.test/" in output
        key_file = data_dir / "admin-api-key"
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        response = httpx.get(f"http://127.0.0.1:{port}/v1/functions", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        # Keys are stored hashed: the database never contains the key itself.
        assert key.encode() not in (data_dir / "rocketstack.db").read_bytes()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def _start_slow_creation(server: Server) -> str:
    with server.client() as api:
        response = api.create("slow", "python3.12", "handler.handler", SLOW_INIT)
        assert response.status_code == 202
        function_id = response.json()["data"]["resourceId"]
        time.sleep(0.5)
        assert api.get(function_id)["status"] == "creating"
    return function_id


def test_restart_resumes_interrupted_creation(fresh_server: Server) -> None:
    fresh_server.start()
    function_id = _start_slow_creation(fresh_server)
    fresh_server.stop()
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.wait(function_id, timeout=30)
        assert function["status"] == "ready", function
        assert api.invoke(function_id, {}).json() == "slow-ok"


def test_crash_resumes_interrupted_creation(fresh_server: Server) -> None:
    fresh_server.start()
    function_id = _start_slow_creation(fresh_server)
    fresh_server.kill()
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.wait(function_id, timeout=30)
        assert function["status"] == "ready", function
        assert api.invoke(function_id, {}).json() == "slow-ok"


def test_creation_without_stored_code_fails_on_restart(fresh_server: Server) -> None:
    fresh_server.start()
    function_id = _start_slow_creation(fresh_server)
    fresh_server.kill()
    for blob in (fresh_server.data_dir / "blobs").iterdir():
        blob.unlink()
    fresh_server.start()
    with fresh_server.client() as api:
        function = api.wait(function_id, timeout=30)
        assert function["status"] == "failed"
        assert "upload it again" in function["statusReason"]


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "ROCKETSTACK_PORT": "eighty", "ROCKETSTACK_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "rocketstack.cli.main", "serve"], env=env, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "ROCKETSTACK_PORT='eighty' is not an integer" in result.stderr
