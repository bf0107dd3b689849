"""The code arguments of deploy_function: inline text and base64 files, folders and ZIP files."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pytest

from rocketstack.client import PackagingError
from rocketstack.mcp import code
from tests.harness import make_zip


def test_files_mix_text_and_base64() -> None:
    data = code.from_files(
        {"handler.py": "x", "blob.bin": {"base64": base64.b64encode(b"\0\1").decode()}},
        "python3.12", "handler.handler",
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("blob.bin") == b"\0\1"
        assert archive.read("handler.py") == b"x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"base64": "***"}, "files['blob.bin'].base64 is not valid base64"),
        ({"base64": "AA==", "extra": "1"}, 'an object {"base64": "..."}'),
    ],
)
def test_files_reject_bad_base64(value: dict[str, str], expected: str) -> None:
    with pytest.raises(PackagingError) as caught:
        code.from_files({"handler.py": "x", "blob.bin": value}, "python3.12", "handler.handler")
    assert expected in str(caught.value)


def test_files_empty() -> None:
    with pytest.raises(PackagingError) as caught:
        code.from_files({}, "python3.12", "handler.handler")
    assert "files is empty" in str(caught.value)


def test_zip_path_sent_unchanged(tmp_path: Path) -> None:
    data = make_zip({"index.js": "x", "lib/a.js": "y"})
    archive = tmp_path / "code.zip"
    archive.write_bytes(data)
    assert code.from_path(str(archive), "nodejs20.x", "index.handler") == data
    assert code.file_names(data) == ["index.js", "lib/a.js"]


def test_zip_path_entry_nested(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(make_zip({"dist/index.js": "x"}))
    with pytest.raises(PackagingError) as caught:
        code.from_path(str(archive), "nodejs20.x", "index.handler")
    assert "it is at 'dist/index.js'" in str(caught.value)
    assert "zip the contents of 'dist'" in str(caught.value)


def test_zip_path_entry_missing(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(make_zip({"main.py": "x"}))
    with pytest.raises(PackagingError) as caught:
        code.from_path(str(archive), "python3.12", "handler.handler")
    assert "it contains: main.py" in str(caught.value)


def test_path_not_zip(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PackagingError) as caught:
        code.from_path(str(text), "nodejs20.x", "index.handler")
    assert "neither a folder nor a ZIP file" in str(caught.value)


def test_relative_path_from_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "handler.py").write_text("x")
    monkeypatch.chdir(tmp_path)
    data = code.from_path("fn", "python3.12", "handler.handler")
    assert code.file_names(data) == ["handler.py"]
