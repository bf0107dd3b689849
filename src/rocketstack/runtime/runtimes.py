"""Finds the interpreter of each runtime once at start, and reports why one is unavailable."""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rocketstack.settings import Settings

log = logging.getLogger(__name__)

BOOTSTRAP_DIR = Path(__file__).parent / "bootstrap"

PYTHON = "python3.12"
NODE = "nodejs20.x"
SUPPORTED = (NODE, PYTHON)


@dataclass(frozen=True)
class RuntimeInfo:
    name: str
    executable: str | None
    version: str | None
    # Reason the runtime is unavailable, in words an operator can act on; None when usable.
    unavailable_reason: str | None
    # File extensions tried, in order, for the module part of a handler.
    extensions: tuple[str, ...]
    # The Python zygote's command, for a runtime whose instances the zygote starts by
    # exec (see `zygote_argv`); empty when there is no Python 3.12.
    spawner: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.executable is not None

    def zygote_argv(self) -> tuple[str, ...]:
        """Return the command of the zygote that starts this runtime's instances, or ()
        when there is none. Python instances are forks of the zygote. Node cannot fork a
        started process, so the zygote only forks, confines and executes `argv` for it:
        the fork then copies a small process instead of the server."""
        if self.name != PYTHON:
            return self.spawner
        if self.executable is None:
            return ()
        return (self.executable, "-I", "-S", str(BOOTSTRAP_DIR / "python_zygote.py"))

    @property
    def forks_from_zygote(self) -> bool:
        """Return True when an instance is the zygote's fork, False when the zygote
        executes `argv`."""
        return self.name == PYTHON

    def argv(self, in_fd: int, out_fd: int, memory_mb: int) -> list[str]:
        assert self.executable is not None, "argv() needs an available runtime"
        if self.name == PYTHON:
            # -I: ignore PYTHON* variables and the user's site; -S: no site-packages, so
            # only the standard library and the function's own code import.
            return [
                self.executable, "-I", "-S",
                str(BOOTSTRAP_DIR / "python_bootstrap.py"), str(in_fd), str(out_fd),
            ]
        # V8 collects garbage before the heap reaches the hard memory limit.
        heap_mb = max(32, int(memory_mb * 0.85))
        return [
            self.executable,
            "--experimental-detect-module",
            "--disable-warning=ExperimentalWarning",
            f"--max-old-space-size={heap_mb}",
            str(BOOTSTRAP_DIR / "node_bootstrap.mjs"), str(in_fd), str(out_fd),
        ]


def discover(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, RuntimeInfo]:
    environ = os.environ if environ is None else environ
    python = _find_python(settings.python312, environ)
    node = dataclasses.replace(_find_node(settings.node20, environ), spawner=python.zygote_argv())
    return {PYTHON: python, NODE: node}


def _is_shim(path: str) -> bool:
    """pyenv and similar tools put shell-script shims on PATH; a shim costs about 100 ms per
    start and fails unless that version is selected, so only real binaries count."""
    if "/shims/" in path:
        return True
    try:
        with open(path, "rb") as file:
            return file.read(2) == b"#!"
    except OSError:
        return True


def _probe(executable: str, code: list[str]) -> str | None:
    try:
        result = subprocess.run(
            [executable, *code], capture_output=True, text=True, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _find_python(configured: str | None, environ: Mapping[str, str]) -> RuntimeInfo:
    candidates: list[str] = []
    if configured:
        candidates.append(configured)
    on_path = shutil.which("python3.12", path=environ.get("PATH"))
    if on_path:
        candidates.append(os.path.realpath(on_path))
    pyenv_root = environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates.extend(sorted(glob.glob(f"{pyenv_root}/versions/3.12*/bin/python3.12"), reverse=True))
    candidates.extend(["/usr/bin/python3.12", "/usr/local/bin/python3.12"])
    for candidate in dict.fromkeys(candidates):
        if not os.path.isfile(candidate) or _is_shim(candidate):
            continue
        version = _probe(candidate, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        if version and version.startswith("3.12."):
            return RuntimeInfo(PYTHON, candidate, version, None, (".py",))
    return RuntimeInfo(
        PYTHON,
        None,
        None,
        "no Python 3.12 interpreter was found (tried ROCKETSTACK_PYTHON312, python3.12 on "
        "PATH and pyenv's versions folder); install Python 3.12 or set ROCKETSTACK_PYTHON312 "
        "to its binary",
        (".py",),
    )


def _find_node(configured: str | None, environ: Mapping[str, str]) -> RuntimeInfo:
    candidates: list[str] = []
    if configured:
        candidates.append(configured)
    for name in ("node20", "node"):
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            candidates.append(os.path.realpath(found))
    for candidate in dict.fromkeys(candidates):
        if not os.path.isfile(candidate):
            continue
        version = _probe(candidate, ["-p", "process.versions.node"])
        if version and version.startswith("20."):
            return RuntimeInfo(NODE, candidate, version, None, (".js", ".mjs", ".cjs"))
        if version:
            log.info("skipping Node %s at %s: nodejs20.x needs Node 20", version, candidate)
    return RuntimeInfo(
        NODE,
        None,
        None,
        "no Node.js 20 binary was found (tried ROCKETSTACK_NODE20 and node on PATH); "
        "install Node.js 20 or set ROCKETSTACK_NODE20 to its binary",
        (".js", ".mjs", ".cjs"),
    )
