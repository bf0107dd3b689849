"""Builds the code ZIP of a deploy from inline files, a local folder or a local ZIP, with the
handler's entry file at the root of the archive, where the runtimes look for it."""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rocketstack.deploy.archive import MAX_ENTRIES, MAX_UPLOAD_BYTES

# File extensions each runtime tries, in order, for the module part of a handler.
ENTRY_EXTENSIONS = {
    "nodejs20.x": (".js", ".mjs", ".cjs"),
    "python3.12": (".py",),
}

# Left out of a bundled folder: version control, caches, virtual environments and .env
# files, which usually contain secrets that belong in the function's env setting.
_EXCLUDED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}
_EXCLUDED_NESTED_DIRS = {("node_modules", ".cache")}
_EXCLUDED_FILES = {".DS_Store", "Thumbs.db"}

# A fixed timestamp, so identical files give identical ZIP bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class BundleError(Exception):
    """The code cannot be bundled; the message names the file or argument and the fix."""


@dataclass(frozen=True)
class Bundle:
    zip_bytes: bytes
    # Paths inside the ZIP, sorted.
    files: tuple[str, ...]
    entry_file: str


def entry_candidates(handler: str, runtime: str) -> list[str]:
    """Return the paths the handler's module may have at the code root, e.g. index.js."""
    module = handler.rpartition(".")[0]
    return [module + extension for extension in ENTRY_EXTENSIONS.get(runtime, ())]


def from_inline(files: Mapping[str, str | Mapping[str, str]], handler: str, runtime: str) -> Bundle:
    """Bundle `files`, a mapping of relative path to UTF-8 text or to {"base64": "..."}."""
    if not files:
        raise BundleError(
            "files is empty; pass the code as {\"index.js\": \"...source...\"} with the entry "
            "file at the root"
        )
    if len(files) > MAX_ENTRIES:
        raise BundleError(f"files has {len(files)} entries; send at most {MAX_ENTRIES}")
    contents: dict[str, bytes] = {}
    for raw_path, value in files.items():
        path = _clean_path(raw_path)
        if path in contents:
            raise BundleError(f"files has the path {path!r} twice; send each file once")
        contents[path] = _decode(path, value)
    return _build(contents, {}, handler, runtime, source="files")


def from_path(path_text: str, handler: str, runtime: str) -> Bundle:
    """Bundle a local folder (its contents become the ZIP root) or read a local ZIP."""
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        raise BundleError(
            f"path {str(path)!r} does not exist; pass the absolute path of the function's "
            "folder or ZIP file"
        )
    if path.is_dir():
        return _from_folder(path, handler, runtime)
    if not zipfile.is_zipfile(path):
        raise BundleError(
            f"path {str(path)!r} is neither a folder nor a ZIP file; pass the folder that "
            "contains the entry file, or a ZIP of it"
        )
    return _from_zip(path, handler, runtime)


def _from_folder(folder: Path, handler: str, runtime: str) -> Bundle:
    contents: dict[str, bytes] = {}
    modes: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        relative_dir = Path(dirpath).relative_to(folder)
        parent_name = relative_dir.name
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in _EXCLUDED_DIRS
            and (parent_name, name) not in _EXCLUDED_NESTED_DIRS
            and not (Path(dirpath) / name).is_symlink()
        )
        for filename in sorted(filenames):
            if filename in _EXCLUDED_FILES or filename == ".env" or filename.startswith(".env."):
                continue
            file_path = Path(dirpath) / filename
            if file_path.is_symlink() and not _inside(file_path.resolve(), folder.resolve()):
                raise BundleError(
                    f"{str(file_path)!r} is a symbolic link to a file outside {str(folder)!r}; "
                    "copy the file into the folder instead"
                )
            if not file_path.is_file():
                continue
            relative = (relative_dir / filename).as_posix()
            contents[relative] = file_path.read_bytes()
            modes[relative] = file_path.stat().st_mode
            if len(contents) > MAX_ENTRIES:
                raise BundleError(
                    f"folder {str(folder)!r} has more than {MAX_ENTRIES} files; remove what the "
                    "function does not need (tests, docs, caches)"
                )
    return _build(contents, modes, handler, runtime, source=f"folder {str(folder)!r}")


def _from_zip(path: Path, handler: str, runtime: str) -> Bundle:
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise BundleError(
            f"ZIP {str(path)!r} is {size} bytes, over the limit of {MAX_UPLOAD_BYTES} bytes; "
            "remove files the function does not need"
        )
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile as error:
        raise BundleError(f"ZIP {str(path)!r} cannot be read ({error}); create it again") from error
    entry = _find_entry(set(names), handler, runtime, source=f"ZIP {str(path)!r}")
    return Bundle(zip_bytes=data, files=tuple(sorted(names)), entry_file=entry)


def _build(
    contents: dict[str, bytes], modes: dict[str, int], handler: str, runtime: str, *, source: str
) -> Bundle:
    entry = _find_entry(set(contents), handler, runtime, source=source)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            executable = modes.get(name, 0) & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, contents[name])
    data = buffer.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        raise BundleError(
            f"the bundled code from {source} is {len(data)} bytes zipped, over the limit of "
            f"{MAX_UPLOAD_BYTES} bytes; remove files the function does not need"
        )
    return Bundle(zip_bytes=data, files=tuple(sorted(contents)), entry_file=entry)


def _find_entry(names: set[str], handler: str, runtime: str, *, source: str) -> str:
    """Return the entry file's path, or raise naming where it is when it is not at the root."""
    candidates = entry_candidates(handler, runtime)
    for candidate in candidates:
        if candidate in names:
            return candidate
    expected = " or ".join(candidates) or handler
    basenames = {PurePosixPath(candidate).name for candidate in candidates}
    nested = sorted(name for name in names if PurePosixPath(name).name in basenames)
    if nested:
        folder = str(PurePosixPath(nested[0]).parent)
        raise BundleError(
            f"{source} has no {expected} at its root, which handler {handler!r} needs; it was "
            f"found at {nested[0]!r}. Put the entry file at the root (bundle the contents of "
            f"{folder!r}) or set handler to '{folder}/{handler}'"
        )
    listing = ", ".join(sorted(names)[:10]) or "nothing"
    raise BundleError(
        f"{source} has no {expected} at its root, which handler {handler!r} needs (it contains: "
        f"{listing}); add the entry file or change handler"
    )


def _clean_path(raw: str) -> str:
    if not raw or not raw.strip():
        raise BundleError("files has an empty path; give each file a relative path such as index.js")
    if "\\" in raw:
        raise BundleError(f"files path {raw!r} contains a backslash; use forward slashes")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise BundleError(f"files path {raw!r} is absolute; use a path relative to the code root")
    if "\x00" in raw:
        raise BundleError(f"files path {raw!r} contains a NUL character")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BundleError(f"files path {raw!r} contains '..'; use a path inside the code root")
    if not parts:
        raise BundleError(f"files path {raw!r} names no file; use a path such as index.js")
    return "/".join(parts)


def _decode(path: str, value: str | Mapping[str, str]) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    encoded = value.get("base64")
    if not isinstance(encoded, str) or set(value) != {"base64"}:
        raise BundleError(
            f"files[{path!r}] must be the file's text or an object {{\"base64\": \"...\"}}"
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BundleError(f"files[{path!r}].base64 is not valid base64 ({error})") from error


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True
