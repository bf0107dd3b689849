"""wrk, the load generator: installs Debian's package when it is missing and runs one
measurement, parsing the JSON line that wrk/request.lua prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).parent / "wrk" / "request.lua"


@dataclass(frozen=True)
class Target:
    """One endpoint under load: a name for the tables, a URL and its request."""

    name: str
    url: str
    authorization: str = ""
    body: str = "{}"
    method: str = "POST"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed; install it with `apt-get install wrk` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def wrk_command(
    target: Target, connections: int, seconds: float, threads: int | None = None
) -> list[str]:
    threads = threads or min(2, connections)
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout", "10s",
        "-s", str(LUA_SCRIPT),
        target.url,
    ]


class WrkRun:
    """One wrk process loading `target` with `connections` keep-alive connections for
    `seconds`; `result()` waits for it."""

    def __init__(
        self, target: Target, connections: int, seconds: float, *, delay_ms: float = 0.0
    ) -> None:
        env = {
            **os.environ,
            "BENCH_METHOD": target.method,
            "BENCH_BODY": target.body,
            "BENCH_AUTHORIZATION": target.authorization,
            "BENCH_DELAY_MS": str(delay_ms),
        }
        self.target = target
        self.seconds = seconds
        self.process = subprocess.Popen(
            wrk_command(target, connections, seconds),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> LoadResult:
        try:
            stdout, stderr = self.process.communicate(timeout=self.seconds + 60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise RuntimeError(f"wrk on {self.target.name} did not finish") from None
        line = next((row for row in stdout.splitlines() if row.startswith("BENCH_JSON ")), None)
        if self.process.returncode != 0 or line is None:
            raise RuntimeError(
                f"wrk failed on {self.target.name} with exit status {self.process.returncode}: "
                f"{stderr.strip() or stdout.strip()}"
            )
        return parse_summary(line)


def run_wrk(
    target: Target, connections: int, seconds: float, *, delay_ms: float = 0.0
) -> LoadResult:
    """Load `target` with `connections` keep-alive connections for `seconds`."""
    return WrkRun(target, connections, seconds, delay_ms=delay_ms).result()


def parse_summary(line: str) -> LoadResult:
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(
        data[key]
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
