"""The servers a benchmark run starts and stops: the floor app, serverless-offline and
Rocketstack itself, each on free loopback ports."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import free_port

BENCH_DIR = Path(__file__).resolve().parent
SERVERLESS_DIR = BENCH_DIR / "serverless"
SERVERLESS_VERSIONS = {"serverless": "3.40.0", "serverless-offline": "13.9.0"}


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    """Poll `url` until it answers anything at all; raise if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before answering")
        try:
            httpx.post(url, content=b"{}", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {timeout} s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process started with start_new_session, and everything it started."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class FloorApp:
    """The bare Starlette app of benchmarks/floor.py under uvicorn."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> FloorApp:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.floor", str(self.port)],
                cwd=BENCH_DIR.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(self.url, self.process, "the floor app", 30)
        return self

    def stop(self) -> None:
        stop_process(self.process)


def serverless_installed() -> bool:
    for name, version in SERVERLESS_VERSIONS.items():
        manifest = SERVERLESS_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or f'"version": "{version}"' not in manifest.read_text():
            return False
    return True


def install_serverless() -> None:
    """Install the pinned serverless and serverless-offline under benchmarks/serverless."""
    if serverless_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; install Node.js 20 with npm to compare with serverless-offline")
    subprocess.run(
        [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=SERVERLESS_DIR,
        check=True,
        timeout=900,
    )


class ServerlessOffline:
    """serverless-offline on loopback: HTTP API routes and the Lambda invoke API."""

    def __init__(self, log_path: Path, python312: str | None) -> None:
        self.http_port = free_port()
        self.lambda_port = free_port()
        self.log_path = log_path
        self.python312 = python312
        self.process: subprocess.Popen[bytes] | None = None

    def route_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/{name}"

    def invoke_url(self, name: str) -> str:
        return (
            f"http://127.0.0.1:{self.lambda_port}/2015-03-31/functions/"
            f"rocketstack-bench-dev-{name}/invocations"
        )

    def start(self) -> ServerlessOffline:
        env = {
            **os.environ,
            # No telemetry, update checks or notices: this run has no network.
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            "SLS_DEPRECATION_DISABLE": "*",
            "AWS_ACCESS_KEY_ID": "benchmark",
            "AWS_SECRET_ACCESS_KEY": "benchmark",
        }
        env.pop("VIRTUAL_ENV", None)
        if self.python312:
            # serverless-offline runs Python handlers with `python3` from PATH: put the same
            # Python 3.12 that Rocketstack uses there.
            env["PATH"] = f"{Path(self.python312).parent}{os.pathsep}{env.get('PATH', '')}"
        command = [
            "node",
            str(SERVERLESS_DIR / "node_modules" / "serverless" / "bin" / "serverless.js"),
            "offline",
            "start",
            "--httpPort", str(self.http_port),
            "--lambdaPort", str(self.lambda_port),
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=SERVERLESS_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(self.invoke_url("node"), self.process, "serverless-offline", 90)
        return self

    def command_line(self) -> str:
        return (
            "node node_modules/serverless/bin/serverless.js offline start "
            "--httpPort PORT --lambdaPort PORT  (in benchmarks/serverless)"
        )

    def stop(self) -> None:
        stop_process(self.process)
