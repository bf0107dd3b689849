"""The README's command-line quick start, run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness import ADMIN_KEY, REPO, Server

MARKER = "<!-- quick-start: tests/test_cli_readme.py runs this block against a real server -->"


def quick_start_block() -> str:
    readme = (REPO / "README.md").read_text()
    after = readme.split(MARKER, 1)[1]
    match = re.match(r"\s*```sh\n(.*?)```", after, re.DOTALL)
    assert match is not None, "the quick-start marker must be followed by a sh block"
    return match.group(1)


def test_readme_quick_start(fresh_server: Server, tmp_path: Path) -> None:
    server = fresh_server.start()
    # The block runs from a repository root: examples/, .venv/bin/activate and the
    # server's key file, here pointing at this environment and the test server.
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / ".rocketstack").mkdir()
    (tmp_path / ".rocketstack" / "admin-api-key").write_text(ADMIN_KEY + "\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text(
        f'export PATH="{Path(sys.executable).parent}:$PATH"\n'
    )
    env = {
        **os.environ,
        "ROCKETSTACK_API_URL": server.url,
        "ROCKETSTACK_CONFIG": str(tmp_path / "config.toml"),
    }
    env.pop("ROCKETSTACK_API_KEY", None)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", quick_start_block()],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "created function my-api" in run.stdout
    assert '\\"message\\":\\"Hello\\"' in run.stdout
    assert "REPORT RequestId: " in run.stderr
    assert "function my-api" in run.stdout and "is unchanged, version 1: ready" in run.stdout
    assert "deleted function my-api" in run.stdout
