"""Invocation through the API with real Node and Python handlers: module systems, sync and
async handlers, context, warm reuse, logs, and the error mapping."""

from __future__ import annotations

import pytest

from tests.harness import Api, make_zip

NODE_VARIANTS = {
    "esm-in-js": {"index.js": "export const handler = async (event) => ({ kind: 'esm-js', event });"},
    "commonjs": {"index.js": "exports.handler = async (event) => ({ kind: 'cjs', event });"},
    "module-exports": {"index.js": "module.exports = { handler: (event) => ({ kind: 'module.exports', event }) };"},
    "mjs": {"index.mjs": "export async function handler(event) { return { kind: 'mjs', event }; }"},
    "cjs": {"index.cjs": "exports.handler = function (event) { return { kind: 'cjs-file', event }; };"},
    "type-module": {
        "package.json": '{"type": "module"}',
        "index.js": "import { kind } from './lib.js';\nexport const handler = (event) => ({ kind, event });",
        "lib.js": "export const kind = 'type-module';",
    },
    "callback": {"index.js": "exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { kind: 'callback', event }), 5); };"},
}


@pytest.mark.parametrize("variant", sorted(NODE_VARIANTS))
def test_node_module_systems(api: Api, unique_name: str, variant: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", make_zip(NODE_VARIANTS[variant]))
    response = api.invoke(function["id"], {"n": 1})
    assert response.status_code == 200, response.text
    assert response.json()["event"] == {"n": 1}
    assert response.json()["kind"]


def test_node_vendored_dependency(api: Api, unique_name: str) -> None:
    code = make_zip(
        {
            "index.js": "const pad = require('left-pad-lite');\nexports.handler = async (e) => pad(e.s, 5);",
            "node_modules/left-pad-lite/package.json": '{"name": "left-pad-lite", "main": "main.js"}',
            "node_modules/left-pad-lite/main.js": "module.exports = (s, n) => s.padStart(n, '*');",
        }
    )
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", code)
    assert api.invoke(function["id"], {"s": "ab"}).json() == "***ab"


def test_python_vendored_packages_and_cwd(api: Api, unique_name: str) -> None:
    code = make_zip(
        {
            "handler.py": (
                "import os\nimport vendored\nfrom pkg.sub import mod\n\n"
                "def handler(event, context):\n"
                "    with open('data.txt') as f:\n"
                "        data = f.read().strip()\n"
                "    return {'vendored': vendored.VALUE, 'sub': mod.VALUE, 'data': data,\n"
                "            'cwd_has_handler': os.path.exists('handler.py')}\n"
            ),
            "vendored/__init__.py": "VALUE = 'v'\n",
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/mod.py": "VALUE = 'deep'\n",
            "data.txt": "file-data\n",
        }
    )
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    assert api.invoke(function["id"], {}).json() == {
        "vendored": "v", "sub": "deep", "data": "file-data", "cwd_has_handler": True,
    }


def test_python_context_and_env(api: Api, unique_name: str) -> None:
    code = make_zip(
        {
            "handler.py": (
                "import os, sys\n\n"
                "def handler(event, context):\n"
                "    return {'requestId': context.aws_request_id, 'name': context.function_name,\n"
                "            'memory': context.memory_limit_in_mb,\n"
                "            'remaining': context.get_remaining_time_in_millis(),\n"
                "            'greeting': os.environ.get('GREETING'),\n"
                "            'adminKey': os.environ.get('ROCKETSTACK_ADMIN_API_KEY'),\n"
                "            'version': sys.version_info[:2]}\n"
            )
        }
    )
    function = api.deploy(
        unique_name, "python3.12", "handler.handler", code, memoryMb=512, timeoutSeconds=7,
        env='{"GREETING": "hello"}',
    )
    response = api.invoke(function["id"], {})
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["name"] == unique_name
    assert body["memory"] == 512
    assert 0 < body["remaining"] <= 7000
    assert body["greeting"] == "hello"
    assert body["adminKey"] is None
    assert body["version"] == [3, 12]


def test_node_context_and_env(api: Api, unique_name: str) -> None:
    code = make_zip(
        {
            "index.js": (
                "export const handler = async (event, context) => ({ requestId: context.awsRequestId,"
                " name: context.functionName, memory: context.memoryLimitInMB,"
                " remaining: context.getRemainingTimeInMillis(), greeting: process.env.GREETING,"
                " node: process.versions.node.split('.')[0] });"
            )
        }
    )
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", code, env='{"GREETING": "hi"}')
    response = api.invoke(function["id"], {})
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["name"] == unique_name
    assert body["memory"] == "256"
    assert 0 < body["remaining"] <= 10_000
    assert body["greeting"] == "hi"
    assert body["node"] == "20"


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": "COUNT = 0\n\ndef handler(event, context):\n    global COUNT\n    COUNT += 1\n    return COUNT\n"}),
        ("nodejs20.x", "index.handler", {"index.js": "let count = 0;\nexports.handler = async () => ++count;"}),
    ],
)
def test_warm_instance_keeps_module_state(api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str]) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    results = [api.invoke(function["id"], {}).json() for _ in range(3)]
    assert results == [1, 2, 3]
    # The instance loaded during preparation served the first call: no cold start.
    reports = api.logs(function["id"])["reports"]
    assert len(reports) == 3
    assert [r["initDurationMs"] for r in reports] == [None, None, None]


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": "import sys\n\ndef handler(event, context):\n    print('to stdout', event['n'])\n    print('multi\\nline')\n    print('to stderr', file=sys.stderr)\n    return 'done'\n"}),
        ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async (e) => { console.log('to stdout', e.n); console.log('multi\\nline'); console.error('to stderr'); return 'done'; };"}),
    ],
)
def test_printed_output_goes_to_logs(api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str]) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    response = api.invoke(function["id"], {"n": 7})
    assert response.json() == "done"
    request_id = response.headers["x-request-id"]
    logs = api.logs(function["id"], requestId=request_id)["logs"]
    assert [(r["stream"], r["message"]) for r in logs] == [
        ("stdout", "to stdout 7"),
        ("stdout", "multi\nline"),
        ("stderr", "to stderr"),
    ]
    assert all(r["requestId"] == request_id for r in logs)
    reports = api.logs(function["id"], requestId=request_id)["reports"]
    assert len(reports) == 1
    assert reports[0]["outcome"] == "success"
    assert reports[0]["memorySizeMb"] == 256


def test_python_subprocess_output_is_captured(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "import os\n\ndef handler(event, context):\n    os.write(1, b'raw line one\\nraw line two\\n')\n    return 1\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    response = api.invoke(function["id"], {})
    messages = [r["message"] for r in api.logs(function["id"], requestId=response.headers["x-request-id"])["logs"]]
    assert messages == ["raw line one", "raw line two"]


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "error_type", "message"),
    [
        ("python3.12", "handler.handler", {"handler.py": "def handler(event, context):\n    raise ValueError('bad input ' + str(event['n']))\n"}, "ValueError", "bad input 3"),
        ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async (e) => { throw new RangeError('bad input ' + e.n); };"}, "RangeError", "bad input 3"),
        ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async (e) => { return Promise.reject(new Error('rejected ' + e.n)); };"}, "Error", "rejected 3"),
    ],
)
def test_handler_error_is_500_with_shape(api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str], error_type: str, message: str) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    response = api.invoke(function["id"], {"n": 3})
    assert response.status_code == 500
    assert response.headers["x-rocketstack-function-error"] == "Unhandled"
    body = response.json()
    assert body["errorType"] == error_type
    assert body["errorMessage"] == message
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]
    # The instance survives a handled error and serves the next call.
    assert api.invoke(function["id"], {"n": 4}).status_code == 500
    reports = api.logs(function["id"])["reports"]
    assert [r["outcome"] for r in reports][:2] == ["error", "error"]


def test_python_traceback_is_one_log_record(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    return 1 / 0\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    response = api.invoke(function["id"], {})
    logs = api.logs(function["id"], requestId=response.headers["x-request-id"])["logs"]
    errors = [r for r in logs if "ZeroDivisionError" in r["message"]]
    assert len(errors) == 1
    assert "handler.py" in errors[0]["message"]
    assert "\n" in errors[0]["message"]


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": "import time\n\ndef handler(event, context):\n    time.sleep(30)\n"}),
        ("nodejs20.x", "index.handler", {"index.js": "exports.handler = () => new Promise(() => {});"}),
    ],
)
def test_timeout_is_504_and_next_call_works(api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str]) -> None:
    code = dict(files)
    function = api.deploy(unique_name, runtime, handler, make_zip(code), timeoutSeconds=1)
    response = api.invoke(function["id"], {})
    assert response.status_code == 504
    body = response.json()
    assert body["errorType"] == "TimeoutError"
    assert "timed out after 1 s" in body["errorMessage"]
    report = api.logs(function["id"], requestId=response.headers["x-request-id"])["reports"][0]
    assert report["outcome"] == "timeout"


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": "def handler(event, context):\n    return {1, 2} if event['kind'] == 'set' else float('nan')\n"}),
        ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async (e) => { if (e.kind === 'set') { const a = {}; a.self = a; return a; } return 10n; };"}),
    ],
)
def test_non_serializable_result_is_error(api: Api, unique_name: str, runtime: str, handler: str, files: dict[str, str]) -> None:
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    for kind in ("set", "other"):
        response = api.invoke(function["id"], {"kind": kind})
        assert response.status_code == 500, response.text
        body = response.json()
        assert body["errorType"] == "ResultNotSerializable"
        assert "cannot be converted to JSON" in body["errorMessage"]
        # No frame of the runtime itself, nor a path of the host, reaches the caller.
        assert "bootstrap" not in response.text
        assert "/root/" not in response.text


def test_huge_error_message_is_cut(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    raise ValueError('E' * event['n'])\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    response = api.invoke(function["id"], {"n": 5_000_000})
    assert response.status_code == 500
    message = response.json()["errorMessage"]
    assert len(message) < 70_000
    assert "more characters" in message
    logs = api.logs(function["id"], requestId=response.headers["x-request-id"])["logs"]
    assert sum(len(r["message"]) for r in logs) < 200_000


@pytest.mark.parametrize(("body", "expected"), [(b"", {}), (b"null", None), (b"[1,2]", [1, 2]), (b'"s"', "s")])
def test_event_is_the_json_body(api: Api, unique_name: str, body: bytes, expected: object) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    return {'event': event}\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    response = api.invoke(function["id"], content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"event": expected}


def test_invalid_json_event_is_400(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    return 1\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    response = api.invoke(function["id"], content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_event_over_6mb_is_413(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    return len(event)\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    response = api.invoke(function["id"], content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    near = b'"' + b"x" * (5 * 1024 * 1024) + b'"'
    response = api.invoke(function["id"], content=near, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == 5 * 1024 * 1024


def test_invoke_while_creating_is_409(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "import time\ntime.sleep(2)\n\ndef handler(event, context):\n    return 1\n"})
    response = api.create(unique_name, "python3.12", "handler.handler", code)
    function_id = response.json()["data"]["resourceId"]
    invoked = api.invoke(function_id, {})
    assert invoked.status_code == 409
    assert invoked.json()["error"]["code"] == "FunctionNotReady"
    assert "creating" in invoked.json()["error"]["message"]
    assert api.wait(function_id)["status"] == "ready"


def test_paused_function_is_429(api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    return 1\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, reservedConcurrency=0)
    response = api.invoke(function["id"], {})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "FunctionPaused"


def test_reserved_concurrency_throttles(api: Api, unique_name: str) -> None:
    import concurrent.futures

    code = make_zip({"handler.py": "import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n    return 1\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code, reservedConcurrency=1)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: api.invoke(function["id"], {}).status_code, range(4)))
    assert statuses.count(200) >= 1
    assert 429 in statuses
    throttled = api.logs(function["id"])["reports"]
    assert "throttled" in [r["outcome"] for r in throttled]
    # The slot is free again afterwards.
    assert api.invoke(function["id"], {}).status_code == 200


def test_output_between_invocations_is_kept(api: Api, unique_name: str) -> None:
    code = make_zip(
        {"index.js": "exports.handler = async (e) => { setTimeout(() => console.log('late', e.n), 50); return e.n; };"}
    )
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", code)
    first = api.invoke(function["id"], {"n": 1})
    import time

    time.sleep(0.3)
    api.invoke(function["id"], {"n": 2})
    logs = api.logs(function["id"], requestId=first.headers["x-request-id"])["logs"]
    assert [r["message"] for r in logs] == ["late 1"]
