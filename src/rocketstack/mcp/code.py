"""Turns the code arguments of deploy_function (inline files, or a local folder or ZIP path)
into the ZIP to upload, with the handler's entry file at its root."""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from rocketstack.client import PackagingError, package_directory, package_files
from rocketstack.client.packaging import MAX_ZIP_BYTES, entry_file_candidates


def from_files(files: Mapping[str, str | Mapping[str, str]], runtime: str, handler: str) -> bytes:
    """Zip {path: text or {"base64": "..."}}; raise PackagingError naming the bad file."""
    if not files:
        raise PackagingError(
            'files is empty; pass the code as {"index.js": "...source..."} with the entry file '
            "at the root"
        )
    contents: dict[str, str | bytes] = {}
    for path, value in files.items():
        contents[path] = value if isinstance(value, str) else _decode(path, value)
    return package_files(contents, runtime=runtime, handler=handler)


def from_path(path_text: str, runtime: str, handler: str) -> bytes:
    """Zip a local folder's contents, or read a local ZIP with the entry file at its root."""
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        return package_directory(path, runtime=runtime, handler=handler)
    if not path.exists():
        raise PackagingError(
            f"path {str(path)!r} does not exist; pass the absolute path of the function's "
            "folder or ZIP file"
        )
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise PackagingError(
            f"path {str(path)!r} is neither a folder nor a ZIP file; pass the folder that "
            "contains the entry file, or a ZIP of it"
        )
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise PackagingError(
            f"ZIP {str(path)!r} is {size} bytes, over the upload limit of {MAX_ZIP_BYTES} bytes; "
            "remove files the function does not need"
        )
    data = path.read_bytes()
    _check_entry(file_names(data), runtime, handler, f"ZIP {str(path)!r}")
    return data


def file_names(zip_bytes: bytes) -> list[str]:
    """Return the names of the files (not folders) in a ZIP, in archive order."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile as error:
        raise PackagingError(f"the code is not a readable ZIP ({error}); create it again") from error


def _check_entry(names: list[str], runtime: str, handler: str, where: str) -> None:
    candidates = entry_file_candidates(runtime, handler)
    if not candidates or any(name in names for name in candidates):
        return
    basename = candidates[0].rpartition("/")[2]
    nested = sorted(name for name in names if name.endswith("/" + basename))
    if nested:
        folder = nested[0].rpartition("/")[0]
        hint = f"; it is at {nested[0]!r}, so zip the contents of {folder!r} instead"
    else:
        hint = f" (it contains: {', '.join(sorted(names)[:10]) or 'nothing'}); add it or fix the handler"
    raise PackagingError(
        f"entry file {' or '.join(candidates)} for handler {handler!r} is not at the root of "
        f"{where}{hint}"
    )


def _decode(path: str, value: Mapping[str, str]) -> bytes:
    encoded = value.get("base64")
    if not isinstance(encoded, str) or set(value) != {"base64"}:
        raise PackagingError(
            f'files[{path!r}] must be the file\'s text or an object {{"base64": "..."}}'
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PackagingError(f"files[{path!r}].base64 is not valid base64 ({error})") from error
