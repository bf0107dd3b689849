"""Test harness: starts the real server as a process on free ports and talks HTTP to it."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
HANDLERS = Path(__file__).resolve().parent / "handlers"
ADMIN_KEY = "rs_test_admin_key_0123456789abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_zip(files: Mapping[str, str | bytes], *, symlinks: Mapping[str, str] | None = None) -> bytes:
    """Build a ZIP in memory from {path: content}; `symlinks` maps entry names to targets."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def zip_dir(path: Path) -> bytes:
    files = {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }
    return make_zip(files)


class Server:
    """A `rocketstack serve` process with its own data directory and ports."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.public_port = free_port()
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def start(self, timeout: float = 30.0) -> Server:
        env = {
            **os.environ,
            "ROCKETSTACK_DATA_DIR": str(self.data_dir),
            "ROCKETSTACK_PORT": str(self.port),
            "ROCKETSTACK_PUBLIC_PORT": str(self.public_port),
            "ROCKETSTACK_ADMIN_API_KEY": ADMIN_KEY,
            "ROCKETSTACK_LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rocketstack.cli.main", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer /healthz within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """Kill the server and every process it started, as a crash would."""
        self.stop(signal.SIGKILL)

    def client(self, key: str = ADMIN_KEY) -> Api:
        """Return an API client; close it (or use `with`) when done."""
        return Api(self, key)


class Api:
    """A small HTTP client for tests; it returns raw httpx responses."""

    def __init__(self, server: Server, key: str) -> None:
        self.server = server
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def create(
        self, name: str, runtime: str, handler: str, code: bytes, **fields: Any
    ) -> httpx.Response:
        data = {"name": name, "runtime": runtime, "handler": handler}
        data.update({k: str(v) for k, v in fields.items()})
        return self.http.post(
            "/v1/functions", data=data, files={"code": ("code.zip", code, "application/zip")}
        )

    def get(self, function_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/functions/{function_id}")
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    def wait(self, function_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll until the function leaves `creating`; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            function = self.get(function_id)
            if function["status"] != "creating":
                return function
            time.sleep(0.05)
        raise AssertionError(f"function {function_id} still creating after {timeout} s")

    def deploy(self, name: str, runtime: str, handler: str, code: bytes, **fields: Any) -> dict[str, Any]:
        """Create a function and wait until it is ready; fail the test otherwise."""
        response = self.create(name, runtime, handler, code, **fields)
        assert response.status_code == 202, response.text
        function = self.wait(response.json()["data"]["resourceId"])
        assert function["status"] == "ready", function
        return function

    def invoke(self, function_id: str, event: Any = None, **kwargs: Any) -> httpx.Response:
        if event is None and "content" not in kwargs:
            return self.http.post(f"/v1/functions/{function_id}/invoke", **kwargs)
        if "content" in kwargs:
            return self.http.post(f"/v1/functions/{function_id}/invoke", **kwargs)
        return self.http.post(f"/v1/functions/{function_id}/invoke", json=event, **kwargs)

    def logs(self, function_id: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(f"/v1/functions/{function_id}/logs", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])
