"""Packaging of a folder or in-memory files into the code ZIP that the server expects."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from rocketstack.client import packaging
from rocketstack.client.packaging import PackagingError, package_directory, package_files
from rocketstack.deploy import archive


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive_file:
        return archive_file.namelist()


def test_packaging_puts_folder_contents_at_root(tmp_path: Path) -> None:
    write(tmp_path, {"index.js": "x", "lib/util.js": "y"})
    data = package_directory(tmp_path, runtime="nodejs20.x", handler="index.handler")
    assert names(data) == ["index.js", "lib/util.js"]


def test_packaging_same_files_give_same_bytes(tmp_path: Path) -> None:
    first = write(tmp_path / "a", {"index.js": "x", "lib/util.js": "y", "b.txt": "z"})
    second = write(tmp_path / "b", {"b.txt": "z", "lib/util.js": "y", "index.js": "x"})
    os.utime(second / "index.js", (1_000_000, 1_000_000))
    assert package_directory(first) == package_directory(second)


def test_packaging_leaves_out_default_ignores(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "handler.py": "x",
            ".git/config": "x",
            "__pycache__/handler.cpython-312.pyc": "x",
            "pkg/__pycache__/m.pyc": "x",
            ".venv/bin/python": "x",
            "node_modules/.cache/babel/x": "x",
            "node_modules/left-pad/index.js": "x",
            ".env": "SECRET=1",
            ".env.local": "SECRET=2",
            "pkg/m.py": "x",
        },
    )
    assert names(package_directory(tmp_path)) == [
        "handler.py",
        "node_modules/left-pad/index.js",
        "pkg/m.py",
    ]


def test_packaging_respects_gitignore_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitignore": "*.log\ndist/\n!keep.log\n",
            "index.js": "x",
            "debug.log": "x",
            "keep.log": "x",
            "dist/bundle.js": "x",
            "sub/.gitignore": "local.txt\n",
            "sub/local.txt": "x",
            "sub/other.txt": "x",
            "local.txt": "x",
        },
    )
    assert names(package_directory(tmp_path)) == [
        ".gitignore",
        "index.js",
        "keep.log",
        "local.txt",
        "sub/.gitignore",
        "sub/other.txt",
    ]


def test_packaging_rocketstackignore_overrides_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".rocketstackignore": "tests/\n!.env.example\n",
            "index.js": "x",
            ".env.example": "KEY=",
            ".env": "KEY=secret",
            "tests/test_index.js": "x",
        },
    )
    assert names(package_directory(tmp_path)) == [".env.example", ".rocketstackignore", "index.js"]


def test_packaging_keeps_executable_bit(tmp_path: Path) -> None:
    write(tmp_path, {"index.js": "x", "bin/tool": "#!/bin/sh\n"})
    (tmp_path / "bin/tool").chmod(0o755)
    with zipfile.ZipFile(io.BytesIO(package_directory(tmp_path))) as archive_file:
        modes = {info.filename: info.external_attr >> 16 for info in archive_file.infolist()}
    assert modes["bin/tool"] == stat.S_IFREG | 0o755
    assert modes["index.js"] == stat.S_IFREG | 0o644


def test_packaging_keeps_links_inside_folder(tmp_path: Path) -> None:
    write(tmp_path, {"index.js": "x", "lib/real.js": "y"})
    (tmp_path / "lib/alias.js").symlink_to("real.js")
    with zipfile.ZipFile(io.BytesIO(package_directory(tmp_path))) as archive_file:
        info = archive_file.getinfo("lib/alias.js")
        assert stat.S_ISLNK(info.external_attr >> 16)
        assert archive_file.read(info) == b"real.js"


def test_packaging_rejects_link_outside_folder(tmp_path: Path) -> None:
    root = write(tmp_path / "code", {"index.js": "x"})
    write(tmp_path, {"secret.txt": "x"})
    (root / "secret.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(PackagingError, match="outside the folder"):
        package_directory(root)


def test_packaging_entry_file_missing(tmp_path: Path) -> None:
    write(tmp_path, {"main.js": "x"})
    with pytest.raises(PackagingError, match=r"entry file index\.js or index\.mjs or index\.cjs"):
        package_directory(tmp_path, runtime="nodejs20.x", handler="index.handler")


def test_packaging_entry_file_nested_hint(tmp_path: Path) -> None:
    write(tmp_path, {"src/handler.py": "x"})
    with pytest.raises(PackagingError, match="deploy the folder 'src' instead"):
        package_directory(tmp_path, runtime="python3.12", handler="handler.handler")


def test_packaging_entry_file_variants(tmp_path: Path) -> None:
    write(tmp_path / "esm", {"index.mjs": "x"})
    write(tmp_path / "py", {"app/__init__.py": "x"})
    assert names(package_directory(tmp_path / "esm", runtime="nodejs20.x", handler="index.handler"))
    assert names(package_directory(tmp_path / "py", runtime="python3.12", handler="app.handler"))


def test_packaging_empty_folder(tmp_path: Path) -> None:
    write(tmp_path, {".env": "x"})
    with pytest.raises(PackagingError, match="no files to deploy"):
        package_directory(tmp_path)


def test_packaging_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="is not a folder"):
        package_directory(tmp_path / "nope")


def test_packaging_size_checked_before_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"index.js": "x", "data.bin": os.urandom(4096).hex()})
    monkeypatch.setattr(packaging, "MAX_ZIP_BYTES", 1024)
    with pytest.raises(PackagingError, match="over the upload limit"):
        package_directory(tmp_path)
    monkeypatch.setattr(packaging, "MAX_UNPACKED_BYTES", 1024)
    with pytest.raises(PackagingError, match="over the unpacked limit"):
        package_directory(tmp_path)


def test_packaging_entry_count_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {f"f{i}.js": "x" for i in range(5)})
    monkeypatch.setattr(packaging, "MAX_ENTRIES", 4)
    with pytest.raises(PackagingError, match="over the limit of 4"):
        package_directory(tmp_path)


def test_packaging_limits_match_server() -> None:
    assert packaging.MAX_ZIP_BYTES == archive.MAX_UPLOAD_BYTES
    assert packaging.MAX_UNPACKED_BYTES == archive.MAX_UNPACKED_BYTES
    assert packaging.MAX_ENTRIES == archive.MAX_ENTRIES


def test_package_files_is_deterministic() -> None:
    first = package_files({"index.js": "x", "lib/a.js": b"y"})
    second = package_files({"./lib/a.js": "y", "index.js": b"x"})
    assert first == second
    assert names(first) == ["index.js", "lib/a.js"]


@pytest.mark.parametrize("name", ["../evil.js", "", "a/../../b"])
def test_package_files_rejects_bad_names(name: str) -> None:
    with pytest.raises(PackagingError, match="is invalid"):
        package_files({name: "x"})


def test_package_files_rejects_duplicates() -> None:
    with pytest.raises(PackagingError, match="more than once"):
        package_files({"index.js": "x", "./index.js": "y"})
