"""Code storage on local disk: uploaded ZIPs by SHA-256, and one extracted, read-only
directory per function version."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


class BlobStore:
    def __init__(self, data_dir: Path) -> None:
        self.blob_dir = data_dir / "blobs"
        self.code_root = data_dir / "code"
        self.tmp_dir = data_dir / "tmp"
        for directory in (self.blob_dir, self.code_root, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def put(self, source: BinaryIO, max_bytes: int) -> tuple[str, int] | None:
        """Copy `source` into the store and return its SHA-256 and size, or None when it is
        larger than `max_bytes` (nothing is kept then). The file is synced before rename,
        so a stored blob survives a crash."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        return None
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            os.replace(tmp_name, self.blob_path(sha))
            tmp_name = ""
            return sha, size
        finally:
            if tmp_name:
                os.unlink(tmp_name)

    def blob_path(self, sha256: str) -> Path:
        return self.blob_dir / f"{sha256}.zip"

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def delete_blob(self, sha256: str) -> None:
        self.blob_path(sha256).unlink(missing_ok=True)

    def code_dir(self, function_id: str, version: int) -> Path:
        return self.code_root / function_id / str(version)

    def new_staging_dir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix="extract-"))

    def publish(self, staging: Path, function_id: str, version: int) -> Path:
        """Move an extracted tree into place and make it read-only."""
        target = self.code_dir(function_id, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            remove_tree(target)
        make_read_only(staging)
        os.replace(staging, target)
        return target

    def delete_function_code(self, function_id: str) -> None:
        remove_tree(self.code_root / function_id)

    def clear_tmp(self) -> None:
        for entry in self.tmp_dir.iterdir():
            remove_tree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)


def make_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                mode = os.lstat(path).st_mode
                os.chmod(path, 0o555 if mode & stat.S_IXUSR else 0o444)
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o555)
    os.chmod(root, 0o555)


def remove_tree(root: Path) -> None:
    """Remove a tree that `make_read_only` may have locked."""
    if not root.exists():
        return
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    shutil.rmtree(root, ignore_errors=True)
