"""Build a function's code ZIP from a folder or from in-memory files, the way the server
expects it: the entry file at the root, ignore files respected, and identical bytes for
identical files, so a redeploy of unchanged code uploads the same archive."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pathspec

from rocketstack.client.errors import ClientError

# The server's limits (deploy/archive.py), checked here before anything is uploaded.
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
MAX_ENTRIES = 20_000

# Left out of every folder unless an ignore file re-includes them with a `!` pattern.
DEFAULT_IGNORES = (
    ".git/",
    "__pycache__/",
    ".venv/",
    "**/node_modules/.cache/",
    ".env*",
    ".DS_Store",
)
IGNORE_FILES = (".gitignore", ".rocketstackignore")

# A fixed timestamp makes the ZIP bytes depend only on names, modes and contents.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ENTRY_SUFFIXES = {
    "nodejs20.x": (".js", ".mjs", ".cjs"),
    "python3.12": (".py", "/__init__.py"),
}


class PackagingError(ClientError):
    """The code cannot be packaged; the message names the file or limit and what to do."""


@dataclass(frozen=True)
class _Entry:
    name: str
    data: bytes
    executable: bool = False
    link_target: str | None = None


def package_directory(
    directory: str | os.PathLike[str],
    *,
    runtime: str | None = None,
    handler: str | None = None,
) -> bytes:
    """Zip the contents of `directory` (not the folder itself) and return the ZIP bytes.

    When `runtime` and `handler` are given, the handler's entry file must be in the ZIP.
    Raises PackagingError when the folder is missing, empty, or over a server limit.
    """
    root = Path(directory)
    if not root.is_dir():
        raise PackagingError(f"{root} is not a folder; pass the folder that holds your entry file")
    entries = list(_walk(root))
    return _build(entries, runtime, handler, where=str(root))


def package_files(
    files: Mapping[str, str | bytes],
    *,
    runtime: str | None = None,
    handler: str | None = None,
) -> bytes:
    """Zip in-memory files ({"index.js": "...", "lib/util.js": b"..."}) into ZIP bytes."""
    entries = []
    for name, content in files.items():
        clean = _clean_name(name)
        data = content.encode() if isinstance(content, str) else bytes(content)
        entries.append(_Entry(clean, data))
    return _build(entries, runtime, handler, where="the files")


def entry_file_candidates(runtime: str, handler: str) -> list[str]:
    """Return the file names that may hold `handler` for `runtime`, e.g. index.js."""
    module = handler.rpartition(".")[0]
    suffixes = _ENTRY_SUFFIXES.get(runtime, ())
    return [module + suffix for suffix in suffixes]


def _build(entries: list[_Entry], runtime: str | None, handler: str | None, where: str) -> bytes:
    entries.sort(key=lambda entry: entry.name)
    names = [entry.name for entry in entries]
    for previous, name in zip(names, names[1:], strict=False):
        if previous == name:
            raise PackagingError(f"{where} name {name!r} more than once; keep one")
    if not entries:
        raise PackagingError(
            f"{where} contain no files to deploy (after the ignore rules); add your entry file"
        )
    if len(entries) > MAX_ENTRIES:
        raise PackagingError(
            f"{where} contain {len(entries)} files, over the limit of {MAX_ENTRIES}; add what "
            "the function does not need (tests, docs, caches) to .rocketstackignore"
        )
    unpacked = sum(len(entry.data) for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise PackagingError(
            f"{where} add up to {_megabytes(unpacked)}, over the unpacked limit of "
            f"{_megabytes(MAX_UNPACKED_BYTES)}; add what the function does not need to "
            ".rocketstackignore"
        )
    if runtime and handler:
        _check_entry_file(set(names), runtime, handler, where)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, so the mode bits below are read back
            if entry.link_target is not None:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, entry.link_target)
                continue
            mode = 0o755 if entry.executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data, compresslevel=6)
    data = buffer.getvalue()
    if len(data) > MAX_ZIP_BYTES:
        raise PackagingError(
            f"the ZIP of {where} is {_megabytes(len(data))}, over the upload limit of "
            f"{_megabytes(MAX_ZIP_BYTES)}; add what the function does not need to "
            ".rocketstackignore"
        )
    return data


def _check_entry_file(names: set[str], runtime: str, handler: str, where: str) -> None:
    candidates = entry_file_candidates(runtime, handler)
    if not candidates or any(name in names for name in candidates):
        return
    nested = sorted(name for name in names if name.endswith("/" + candidates[0]))
    hint = (
        f"; it is at {nested[0]!r}, so deploy the folder {nested[0].rsplit('/', 1)[0]!r} instead"
        if nested
        else f"; add it or fix the handler {handler!r}"
    )
    raise PackagingError(
        f"entry file {' or '.join(candidates)} for handler {handler!r} is not at the root of "
        f"{where}{hint}"
    )


def _walk(root: Path) -> Iterable[_Entry]:
    """Yield the files under `root` that no ignore rule excludes, in a stable order."""
    resolved_root = root.resolve()
    # Each rule set applies to paths relative to the folder it came from; the last rule set
    # with a matching pattern decides, as with nested .gitignore files.
    base_rules = [("", pathspec.GitIgnoreSpec.from_lines(DEFAULT_IGNORES))]

    def visit(
        folder: Path, relative: str, rules: list[tuple[str, pathspec.GitIgnoreSpec]]
    ) -> Iterable[_Entry]:
        local = list(rules)
        for ignore_name in IGNORE_FILES:
            ignore_file = folder / ignore_name
            if ignore_file.is_file():
                lines = ignore_file.read_text(errors="replace").splitlines()
                local.append((relative, pathspec.GitIgnoreSpec.from_lines(lines)))
        try:
            children = sorted(os.scandir(folder), key=lambda child: child.name)
        except OSError as error:
            raise PackagingError(f"cannot read folder {folder}: {error.strerror}") from error
        for child in children:
            name = f"{relative}{child.name}"
            if child.is_symlink():
                if _ignored(name, local, is_dir=False):
                    continue
                yield _link_entry(Path(child.path), name, resolved_root)
            elif child.is_dir():
                if _ignored(name, local, is_dir=True):
                    continue
                yield from visit(Path(child.path), name + "/", local)
            elif child.is_file():
                if _ignored(name, local, is_dir=False):
                    continue
                yield _file_entry(Path(child.path), name)

    yield from visit(root, "", base_rules)


def _ignored(name: str, rules: list[tuple[str, pathspec.GitIgnoreSpec]], *, is_dir: bool) -> bool:
    verdict = False
    for base, spec in rules:
        path = name[len(base) :]
        result = spec.check_file(path + "/" if is_dir else path)
        if result.include is not None:
            verdict = result.include
    return verdict


def _file_entry(path: Path, name: str) -> _Entry:
    try:
        data = path.read_bytes()
        executable = bool(path.stat().st_mode & 0o111)
    except OSError as error:
        raise PackagingError(f"cannot read {path}: {error.strerror}") from error
    return _Entry(name, data, executable)


def _link_entry(path: Path, name: str, root: Path) -> _Entry:
    """Keep a symbolic link as a link when it points inside the folder; the server
    rejects links that leave the code directory."""
    target = os.readlink(path)
    resolved = (path.parent / target).resolve()
    if os.path.isabs(target) or not resolved.is_relative_to(root):
        raise PackagingError(
            f"{path} is a symbolic link to {target!r}, outside the folder; replace it with "
            "a copy of the file or add it to .rocketstackignore"
        )
    return _Entry(name, b"", link_target=target)


def _clean_name(name: str) -> str:
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise PackagingError(
            f"file name {name!r} is invalid; use a relative path such as 'index.js' or "
            "'lib/util.js' without '..'"
        )
    return "/".join(parts)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
