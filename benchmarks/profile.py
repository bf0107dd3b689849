"""A py-spy profile of the server under load, summarised as the frames where its samples
land (self time) and the Rocketstack functions they pass through (inclusive time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.loadgen import Target, WrkRun


@dataclass
class Profile:
    samples: int
    self_time: list[tuple[str, float]]
    inclusive: list[tuple[str, float]]
    raw_path: Path


def profile_under_load(
    server_pid: int, target: Target, connections: int, seconds: float, out_dir: Path
) -> Profile | None:
    """Record the server with py-spy while wrk loads `target`; None when py-spy is missing."""
    beside = Path(sys.executable).parent / "py-spy"
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        return None
    raw_path = out_dir / "profile.txt"
    load = WrkRun(target, connections, seconds + 2)
    subprocess.run(
        [
            py_spy, "record", "--pid", str(server_pid), "--duration", str(int(seconds)),
            "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(raw_path),
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )
    load.result()
    return summarise(raw_path)


def _frame_name(frame: str) -> str:
    # py-spy's raw frames read "function (path/to/module.py:line)"; keep the function and
    # the module path from the package folder on.
    name, _, location = frame.partition(" (")
    location = location.rstrip(")")
    path = location.rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(raw_path: Path, top: int = 15) -> Profile:
    own: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if "rocketstack/" in frame:
                through[frame] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, 100.0 * count / total) for frame, count in counter.most_common(top)]

    return Profile(total, shares(own), shares(through), raw_path)
