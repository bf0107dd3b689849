"""The benchmark's quick mode runs end to end and writes its report. Timings are never
checked here: the quick sizes are too small for any verdict to mean anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness import REPO


def test_bench_quick_mode_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    text = out.read_text()
    assert "quick mode" in text
    for figure in (
        "invoke python: p50 at 1 connection",
        "public URL node: req/s at 8 connections",
        "cold start python (flood of functions",
        "cold start node (burst",
        "create → ready python",
        "deployed functions: server memory they cost",
        "idle python instance, its init and runtime summed: USS",
        "idle node instance, its init and runtime summed: USS",
        "sustained 2 s at 80% of peak",
        "## How it was measured and how to rerun",
        "`nproc`",
    ):
        assert figure in text, figure
    # Every warm request got {"ok": true}: wrk counts any other status as an error.
    for route in ("invoke python", "invoke node", "public URL python", "public URL node"):
        assert f"| {route}: errors | 0 | 0 | met |" in text, route
