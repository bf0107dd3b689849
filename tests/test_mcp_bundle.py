"""Bundling of a deploy's code: inline files, folders and ZIP files, entry file at the root."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from rocketstack.mcp import bundle
from tests.harness import make_zip


def names_in(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def test_inline_bundle_is_deterministic() -> None:
    first = bundle.from_inline({"b.py": "2", "handler.py": "1"}, "handler.handler", "python3.12")
    second = bundle.from_inline({"handler.py": "1", "b.py": "2"}, "handler.handler", "python3.12")
    assert first.zip_bytes == second.zip_bytes
    assert first.entry_file == "handler.py"
    assert names_in(first.zip_bytes) == ["b.py", "handler.py"]


def test_inline_paths_are_normalised() -> None:
    result = bundle.from_inline({"./index.mjs": "x", "lib//a.js": "y"}, "index.handler", "nodejs20.x")
    assert result.files == ("index.mjs", "lib/a.js")
    assert result.entry_file == "index.mjs"


def test_handler_in_subfolder() -> None:
    result = bundle.from_inline({"src/app.py": "x"}, "src/app.main", "python3.12")
    assert result.entry_file == "src/app.py"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"/abs.py": "x"}, "is absolute"),
        ({"C:/x.py": "x"}, "is absolute"),
        ({"a\\b.py": "x"}, "backslash"),
        ({"": "x"}, "empty path"),
        ({".": "x"}, "names no file"),
        ({"handler.py": "x", "./handler.py": "y"}, "twice"),
        ({"handler.py": {"base64": "AA==", "extra": "1"}}, 'an object {"base64": "..."}'),
    ],
)
def test_inline_rejects_bad_paths(files: dict[str, object], expected: str) -> None:
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_inline(files, "handler.handler", "python3.12")  # type: ignore[arg-type]
    assert expected in str(caught.value)


def test_missing_entry_lists_root() -> None:
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_inline({"main.py": "x"}, "handler.handler", "python3.12")
    assert "has no handler.py at its root" in str(caught.value)
    assert "it contains: main.py" in str(caught.value)


def test_folder_bundle_keeps_executable_bit(tmp_path: Path) -> None:
    (tmp_path / "index.js").write_text("x")
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    result = bundle.from_path(str(tmp_path), "index.handler", "nodejs20.x")
    with zipfile.ZipFile(io.BytesIO(result.zip_bytes)) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes == {"bin/tool": 0o100755, "index.js": 0o100644}


def test_folder_leaves_out_node_modules_cache(tmp_path: Path) -> None:
    (tmp_path / "index.js").write_text("x")
    (tmp_path / "node_modules" / "dep").mkdir(parents=True)
    (tmp_path / "node_modules" / "dep" / "index.js").write_text("y")
    (tmp_path / "node_modules" / ".cache").mkdir()
    (tmp_path / "node_modules" / ".cache" / "big").write_text("z")
    (tmp_path / ".env.local").write_text("SECRET=1")
    result = bundle.from_path(str(tmp_path), "index.handler", "nodejs20.x")
    assert result.files == ("index.js", "node_modules/dep/index.js")


def test_folder_rejects_link_outside(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text("x")
    os.symlink(outside, code / "secret.txt")
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_path(str(code), "handler.handler", "python3.12")
    assert "symbolic link to a file outside" in str(caught.value)


def test_nested_folder_entry_names_fix(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "handler.py").write_text("x")
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_path(str(tmp_path), "handler.handler", "python3.12")
    assert "found at 'app/handler.py'" in str(caught.value)
    assert "'app/handler.handler'" in str(caught.value)


def test_zip_path_is_sent_unchanged(tmp_path: Path) -> None:
    data = make_zip({"index.js": "x", "lib/a.js": "y"})
    archive = tmp_path / "code.zip"
    archive.write_bytes(data)
    result = bundle.from_path(str(archive), "index.handler", "nodejs20.x")
    assert result.zip_bytes == data
    assert result.files == ("index.js", "lib/a.js")


def test_zip_without_entry_at_root(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(make_zip({"dist/index.js": "x"}))
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_path(str(archive), "index.handler", "nodejs20.x")
    assert "found at 'dist/index.js'" in str(caught.value)


def test_path_that_is_not_zip(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(bundle.BundleError) as caught:
        bundle.from_path(str(text), "index.handler", "nodejs20.x")
    assert "neither a folder nor a ZIP file" in str(caught.value)


def test_relative_path_resolves_from_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "handler.py").write_text("x")
    monkeypatch.chdir(tmp_path)
    result = bundle.from_path("fn", "handler.handler", "python3.12")
    assert result.files == ("handler.py",)
