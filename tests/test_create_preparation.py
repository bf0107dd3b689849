"""Preparation of uploaded code: every failure leaves the function `failed` with a reason a
user can act on, and nothing half-extracted."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from tests.harness import Api, Server, make_zip


def failed_reason(api: Api, name: str, runtime: str, handler: str, code: bytes) -> str:
    response = api.create(name, runtime, handler, code)
    assert response.status_code == 202, response.text
    function = api.wait(response.json()["data"]["resourceId"])
    assert function["status"] == "failed", function
    reason = function["statusReason"]
    assert isinstance(reason, str) and reason
    return reason


def test_preparation_rejects_non_zip(api: Api, unique_name: str) -> None:
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", b"not a zip at all")
    assert "not a valid ZIP archive" in reason


def test_preparation_rejects_empty_zip(api: Api, unique_name: str) -> None:
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", make_zip({}))
    assert "ZIP is empty" in reason


def test_preparation_rejects_too_many_entries(api: Api, unique_name: str) -> None:
    files = {f"f{i}.txt": "" for i in range(20_001)}
    files["index.js"] = "exports.handler = () => 1;"
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", make_zip(files))
    assert "more than 20000 entries" in reason


def test_preparation_rejects_oversized_unpack(api: Api, unique_name: str, server: Server) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.js", "exports.handler = () => 1;")
        # Compresses to about 250 KB; unpacks past the 250 MB limit.
        archive.writestr("big.bin", b"\0" * (251 * 1024 * 1024))
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", buffer.getvalue())
    assert "unpacks to more than 250 MB" in reason
    leftovers = list((server.data_dir / "tmp").iterdir())
    assert leftovers == []


def test_preparation_counts_bytes_despite_lying_header(api: Api, unique_name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.js", "exports.handler = () => 1;")
        archive.writestr("big.bin", b"\0" * (251 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    # Rewrite the central directory's uncompressed size of big.bin to 1 byte.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("big.bin")
    central = data.rfind(b"PK\x01\x02")
    assert central > 0
    offset = data.find(b"big.bin", central) - 46 + 24
    data[offset : offset + 4] = (1).to_bytes(4, "little")
    assert info.file_size > 1
    response = api.create(unique_name, "nodejs20.x", "index.handler", bytes(data))
    function = api.wait(response.json()["data"]["resourceId"])
    assert function["status"] == "failed"


def test_upload_over_limit_is_rejected(api: Api, unique_name: str) -> None:
    payload = os.urandom(51 * 1024 * 1024)
    response = api.create(unique_name, "nodejs20.x", "index.handler", payload)
    assert response.status_code == 413
    assert "code is larger than 50 MB" in response.json()["error"]["message"]
    listed = api.http.get("/v1/functions", params={"limit": 100}).json()["data"]["items"]
    assert unique_name not in [f["name"] for f in listed]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("/etc/evil.js", "is an absolute path"),
        ("../evil.js", "contains '..'"),
        ("a/../../evil.js", "contains '..'"),
        ("dir\\evil.js", "contains a backslash"),
    ],
)
def test_preparation_rejects_escaping_entry(api: Api, unique_name: str, entry: str, expected: str) -> None:
    code = make_zip({"index.js": "exports.handler = () => 1;", entry: "x"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert expected in reason


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "sub/../../x"])
def test_preparation_rejects_symlink_outside(api: Api, unique_name: str, target: str) -> None:
    code = make_zip({"index.js": "exports.handler = () => 1;"}, symlinks={"link": target})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert "symbolic link" in reason
    assert target in reason


def test_preparation_accepts_symlink_inside(api: Api, unique_name: str) -> None:
    code = make_zip(
        {"lib/impl.js": "exports.handler = async () => 'linked';"},
        symlinks={"index.js": "lib/impl.js"},
    )
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", code)
    assert api.invoke(function["id"], {}).json() == "linked"


def test_preparation_reports_nested_folder(api: Api, unique_name: str) -> None:
    code = make_zip({"my-project/index.js": "exports.handler = () => 1;"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert "not at the root of the ZIP" in reason
    assert "'my-project/index.js'" in reason


def test_preparation_reports_missing_file(api: Api, unique_name: str) -> None:
    code = make_zip({"main.py": "def handler(e, c): pass\n"})
    reason = failed_reason(api, unique_name, "python3.12", "handler.handler", code)
    assert "handler.py is missing" in reason
    assert "main.py" in reason


def test_preparation_reports_python_syntax_error(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "import json\n\ndef handler(event, context)\n    return 1\n"})
    reason = failed_reason(api, unique_name, "python3.12", "handler.handler", code)
    assert "SyntaxError" in reason
    assert "handler.py, line 3" in reason


def test_preparation_reports_python_import_error(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "import json\nimport missing_module_xyz\n\ndef handler(e, c):\n    return 1\n"})
    reason = failed_reason(api, unique_name, "python3.12", "handler.handler", code)
    assert "ModuleNotFoundError" in reason
    assert "missing_module_xyz" in reason
    assert "handler.py, line 2" in reason


def test_preparation_reports_missing_python_function(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def main(event, context):\n    return 1\n"})
    reason = failed_reason(api, unique_name, "python3.12", "handler.handler", code)
    assert "defines no function named 'handler'" in reason


def test_preparation_reports_python_non_callable(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "handler = 42\n"})
    reason = failed_reason(api, unique_name, "python3.12", "handler.handler", code)
    assert "not a function" in reason


def test_preparation_reports_node_syntax_error(api: Api, unique_name: str) -> None:
    code = make_zip({"index.js": "export const handler = async (event) => {\n  return {;\n};\n"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert "SyntaxError" in reason
    assert "index.js, line 2" in reason


def test_preparation_reports_node_missing_export(api: Api, unique_name: str) -> None:
    code = make_zip({"index.js": "export const main = async () => 1;\n"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert 'index.js does not export "handler"' in reason


def test_preparation_reports_node_import_failure(api: Api, unique_name: str) -> None:
    code = make_zip({"index.js": "const x = require('not-installed-pkg');\nexports.handler = () => x;\n"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert "not-installed-pkg" in reason


def test_preparation_reports_node_init_throw(api: Api, unique_name: str) -> None:
    code = make_zip({"index.js": "throw new TypeError('boom at init');\nexports.handler = () => 1;\n"})
    reason = failed_reason(api, unique_name, "nodejs20.x", "index.handler", code)
    assert "TypeError" in reason
    assert "boom at init" in reason


def test_failed_function_rejects_invoke(api: Api, unique_name: str) -> None:
    response = api.create(unique_name, "nodejs20.x", "index.handler", b"junk")
    function = api.wait(response.json()["data"]["resourceId"])
    invoked = api.invoke(function["id"], {})
    assert invoked.status_code == 409
    assert invoked.json()["error"]["code"] == "FunctionNotReady"
    assert "not a valid ZIP" in invoked.json()["error"]["message"]


def test_code_dir_is_read_only_after_preparation(api: Api, unique_name: str, server: Server) -> None:
    function = api.deploy(
        unique_name, "python3.12", "handler.handler", make_zip({"handler.py": "def handler(e, c):\n    return 1\n"})
    )
    code_dir = Path(server.data_dir) / "code" / function["id"] / "1"
    assert (code_dir / "handler.py").is_file()
    assert not os.stat(code_dir / "handler.py").st_mode & 0o222
