"""Checks that the handler's file is at the code root, and reports where it is when it is not."""

from __future__ import annotations

import os
from pathlib import Path

from rocketstack.errors import PreparationError

_SKIPPED_DIRS = {"node_modules", "__pycache__", ".git", "__MACOSX"}


def check_handler_file(root: Path, handler: str, extensions: tuple[str, ...]) -> Path:
    module, _, _ = handler.rpartition(".")
    candidates = [f"{module}{extension}" for extension in extensions]
    for candidate in candidates:
        if (root / candidate).is_file():
            return root / candidate
    names = {os.path.basename(candidate) for candidate in candidates}
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for filename in sorted(filenames):
            if filename in names:
                found.append(os.path.relpath(os.path.join(dirpath, filename), root))
        if len(found) >= 3:
            break
    wanted = " or ".join(candidates)
    if found:
        first = found[0]
        folder = os.path.dirname(first)
        raise PreparationError(
            f"handler file {wanted} is not at the root of the ZIP; it was found at {first!r}. "
            f"Zip the contents of the {folder!r} folder rather than the folder itself, "
            f"or set handler to '{folder}/{handler}'"
        )
    listing = sorted(os.listdir(root))[:10]
    raise PreparationError(
        f"handler file {wanted} is missing from the ZIP (its root contains: "
        f"{', '.join(listing) or 'nothing'}); add it or change the handler setting"
    )
