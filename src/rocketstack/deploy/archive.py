"""ZIP checks and extraction. Sizes and entry counts are counted while extracting, since a
ZIP's headers can lie; on any failure the partial tree is removed."""

from __future__ import annotations

import os
import posixpath
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rocketstack.errors import PreparationError
from rocketstack.store.blobs import remove_tree

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
MAX_ENTRIES = 20_000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Extracted:
    root: Path
    files: int
    unpacked_bytes: int


def extract(zip_path: Path, target: Path) -> Extracted:
    """Extract `zip_path` into the empty directory `target`, or raise PreparationError with
    a reason a user can act on (and leave `target` removed)."""
    try:
        return _extract(zip_path, target)
    except PreparationError:
        remove_tree(target)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        remove_tree(target)
        raise PreparationError(
            f"code is not a valid ZIP archive ({error}); create it with `zip -r code.zip .` "
            "from inside your project folder"
        ) from error
    except NotImplementedError as error:
        remove_tree(target)
        raise PreparationError(
            f"code uses a ZIP feature that is not supported ({error}); use plain deflate "
            "compression without encryption"
        ) from error


def _extract(zip_path: Path, target: Path) -> Extracted:
    with zipfile.ZipFile(zip_path) as archive:
        # The central directory lists every entry that extraction visits, so its length
        # rejects an archive with too many entries before any file is written.
        if len(archive.infolist()) > MAX_ENTRIES:
            raise PreparationError(
                f"code has more than {MAX_ENTRIES} entries; remove files the function "
                "does not need (tests, docs, caches)"
            )
        entries = 0
        files = 0
        total = 0
        for info in archive.infolist():
            entries += 1
            if entries > MAX_ENTRIES:
                raise PreparationError(
                    f"code has more than {MAX_ENTRIES} entries; remove files the function "
                    "does not need (tests, docs, caches)"
                )
            relative = _safe_name(info.filename)
            if relative is None:
                continue
            destination = target / relative
            mode = info.external_attr >> 16
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                link = archive.read(info).decode("utf-8", "replace")
                _check_link(info.filename, relative, link)
                os.symlink(link, destination)
                files += 1
                continue
            if destination.exists() or destination.is_symlink():
                raise PreparationError(f"code has entry {info.filename!r} twice; remove the duplicate")
            written = 0
            with archive.open(info) as source, open(destination, "xb") as out:
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    total += len(chunk)
                    if total > MAX_UNPACKED_BYTES:
                        raise PreparationError(
                            f"code unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB; "
                            "remove files the function does not need"
                        )
                    out.write(chunk)
            os.chmod(destination, 0o755 if mode & 0o111 else 0o644)
            files += 1
        if files == 0:
            raise PreparationError(
                "code ZIP is empty; add your entry file (e.g. index.js or handler.py) at its root"
            )
    return Extracted(target, files, total)


def _safe_name(name: str) -> str | None:
    """Return the entry's path relative to the code root, or raise for a path that would
    land outside it. Returns None for the root entry itself."""
    if "\\" in name:
        raise PreparationError(
            f"code entry {name!r} contains a backslash; create the ZIP with forward slashes "
            "(a ZIP made on Windows by some tools needs re-zipping)"
        )
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PreparationError(f"code entry {name!r} is an absolute path; entries must be relative")
    if "\x00" in name:
        raise PreparationError(f"code entry {name!r} contains a NUL byte")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PreparationError(
            f"code entry {name!r} contains '..' and would land outside the code directory"
        )
    if not parts:
        return None
    return "/".join(parts)


def _check_link(name: str, relative: str, link: str) -> None:
    if link.startswith("/") or "\x00" in link:
        raise PreparationError(
            f"code entry {name!r} is a symbolic link to the absolute path {link!r}; "
            "only links inside the code directory are allowed"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), link))
    if resolved == ".." or resolved.startswith("../"):
        raise PreparationError(
            f"code entry {name!r} is a symbolic link to {link!r}, which points outside the "
            "code directory; only links inside it are allowed"
        )
