"""Isolation of an instance's files, environment and processes: real handlers try to read
another function's code, environment and /tmp, the server's data directory and other
processes' /proc entries, and to use the system calls the seccomp filter denies."""

from __future__ import annotations

import os
from typing import Any

from tests.harness import REPO, Api, Server, make_zip

PROBE_PY = '''
import ctypes, errno, json, os

def attempt(action):
    try:
        return action()
    except OSError as error:
        return type(error).__name__

def read(path):
    with open(path, "rb") as file:
        return file.read(200).decode("utf-8", "replace")

def handler(event, context):
    result = {"uid": os.getuid(), "pid": os.getpid(), "env": dict(os.environ)}
    result["read"] = {path: attempt(lambda: read(path)) for path in event.get("read", [])}
    result["list"] = {path: attempt(lambda: sorted(os.listdir(path))) for path in event.get("list", [])}
    if "write" in event:
        def write():
            with open(event["write"]["path"], "w") as file:
                file.write(event["write"]["text"])
            return "written"
        result["write"] = attempt(write)
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            processes[entry] = {
                "cmdline": attempt(lambda: read(f"/proc/{entry}/cmdline")),
                "environ": attempt(lambda: read(f"/proc/{entry}/environ")),
            }
    result["processes"] = processes
    libc = ctypes.CDLL(None, use_errno=True)
    calls = {
        "unshare_user": lambda: libc.unshare(0x10000000),
        "ptrace_traceme": lambda: libc.ptrace(0, 0, None, None),
        "mount_tmpfs": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
        "bpf": lambda: libc.syscall(321, 0, None, 0),
        "io_uring_setup": lambda: libc.syscall(425, 1, None),
    }
    result["calls"] = {}
    for name, call in calls.items():
        ctypes.set_errno(0)
        code = call()
        result["calls"][name] = errno.errorcode.get(ctypes.get_errno(), "ok") if code == -1 else "ok"
    return result
'''

SECRET_NODE = '''
exports.handler = async () => ({ secret: process.env.SECRET_TOKEN });
'''


def _probe(api: Api, function_id: str, event: dict[str, Any]) -> dict[str, Any]:
    response = api.invoke(function_id, event)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _code_dir(server: Server, function: dict[str, Any]) -> str:
    return str(server.data_dir / "code" / function["id"] / str(function["version"]))


def test_other_function_code_env_and_server_files_unreadable(
    server: Server, api: Api, unique_name: str
) -> None:
    secret = "s3cr3t-" + unique_name
    other = api.deploy(
        unique_name + "-other", "nodejs20.x", "index.handler",
        make_zip({"index.js": SECRET_NODE}), env=f'{{"SECRET_TOKEN": "{secret}"}}',
    )
    # A warm instance of the other function is running while the probe looks around.
    assert api.invoke(other["id"]).json() == {"secret": secret}
    probe = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    other_code = _code_dir(server, other)
    own_code = _code_dir(server, probe)
    data_dir = str(server.data_dir)
    result = _probe(api, probe["id"], {
        "read": [
            "/var/task/handler.py",
            f"{own_code}/handler.py",
            f"{other_code}/index.js",
            f"{data_dir}/rocketstack.db",
            f"{data_dir}/admin-api-key",
            str(server.log_path),
            str(REPO / "pyproject.toml"),
            "/etc/shadow",
            "/root/.bash_history",
        ],
        "list": [data_dir, f"{data_dir}/code", other_code, "/", "/sys"],
    })

    reads = result["read"]
    assert "import ctypes" in reads["/var/task/handler.py"]
    for path in (f"{own_code}/handler.py", f"{other_code}/index.js", f"{data_dir}/rocketstack.db", f"{data_dir}/admin-api-key",
                 str(server.log_path), str(REPO / "pyproject.toml"), "/etc/shadow"):
        assert reads[path] == "FileNotFoundError", path
    listings = result["list"]
    for path in (data_dir, f"{data_dir}/code", other_code, "/sys"):
        assert listings[path] == "FileNotFoundError", path
    assert "home" not in listings["/"]
    assert result["uid"] != 0
    assert secret not in str(result["env"])
    assert secret not in str(result["processes"])


def test_other_processes_invisible_in_proc(server: Server, api: Api, unique_name: str) -> None:
    probe = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    result = _probe(api, probe["id"], {})
    processes = result["processes"]
    # Only the instance's own processes are there. Python instances are forks of the
    # runtime's zygote: PID 1 of the namespace is the instance's init, which reaps orphans,
    # and PID 2 the runtime it started.
    assert sorted(processes) == ["1", "2"]
    assert "python_zygote" in processes["1"]["cmdline"]
    assert "python_zygote" in processes["2"]["cmdline"]
    assert str(server.process.pid if server.process else "") not in processes
    assert result["pid"] == 2


def test_tmp_private_to_each_function(api: Api, unique_name: str) -> None:
    writer = api.deploy(unique_name + "-w", "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    reader = api.deploy(unique_name + "-r", "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    token = f"/tmp/token-{unique_name}"
    written = _probe(api, writer["id"], {"write": {"path": token, "text": "private"}})
    assert written["write"] == "written"
    # The writer's warm instance still sees its own file; the other function does not.
    assert _probe(api, writer["id"], {"read": [token]})["read"][token] == "private"
    assert _probe(api, reader["id"], {"read": [token]})["read"][token] == "FileNotFoundError"


def test_code_and_root_read_only(api: Api, unique_name: str) -> None:
    probe = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    into_code = _probe(api, probe["id"], {"write": {"path": "/var/task/handler.py", "text": "x"}})
    assert into_code["write"] in ("PermissionError", "OSError")
    into_root = _probe(api, probe["id"], {"write": {"path": "/usr/evil", "text": "x"}})
    assert into_root["write"] in ("PermissionError", "OSError")


def test_dangerous_system_calls_denied(api: Api, unique_name: str) -> None:
    probe = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}))
    calls = _probe(api, probe["id"], {})["calls"]
    assert calls["unshare_user"] == "EPERM"
    assert calls["ptrace_traceme"] == "EPERM"
    assert calls["mount_tmpfs"] == "EPERM"
    assert calls["bpf"] == "EPERM"
    assert calls["io_uring_setup"] == "EPERM"


def test_instance_environment_is_clean(api: Api, unique_name: str) -> None:
    probe = api.deploy(
        unique_name, "python3.12", "handler.handler", make_zip({"handler.py": PROBE_PY}),
        env='{"MY_SETTING": "on"}',
    )
    env = _probe(api, probe["id"], {})["env"]
    assert env["MY_SETTING"] == "on"
    leaked = [name for name in env if name.startswith("ROCKETSTACK_") and name not in (
        "ROCKETSTACK_FUNCTION_NAME", "ROCKETSTACK_FUNCTION_VERSION", "ROCKETSTACK_FUNCTION_MEMORY_MB",
        "ROCKETSTACK_RUNTIME", "ROCKETSTACK_TASK_ROOT",
    )]
    assert leaked == []
    assert "ROCKETSTACK_ADMIN_API_KEY" not in env
    assert os.environ.get("PATH", "") != env.get("PATH") or "PYTHONPATH" not in env
