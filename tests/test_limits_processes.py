"""Process and file limits: a fork storm fails inside its instance only, and the rlimits
for open files, core dumps and file size hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.harness import Api, make_zip

FORK_STORM_PY = '''
import os, time

def handler(event, context):
    children, failure = [], None
    for _ in range(event["forks"]):
        try:
            pid = os.fork()
        except OSError as error:
            failure = type(error).__name__
            break
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    return {"forked": len(children), "failure": failure}
'''

RLIMITS_PY = '''
import os, resource

def handler(event, context):
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_FSIZE", "RLIMIT_NPROC")
    }
    opened, failure = [], None
    try:
        for _ in range(limits["RLIMIT_NOFILE"][1] + 10):
            opened.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as error:
        failure = type(error).__name__ + ":" + str(error.errno)
    for fd in opened:
        os.close(fd)
    # A sparse write past RLIMIT_FSIZE fails without using memory.
    try:
        with open("/tmp/big", "wb") as file:
            file.seek(limits["RLIMIT_FSIZE"][0])
            file.write(b"x")
        too_big = "written"
    except OSError as error:
        too_big = type(error).__name__ + ":" + str(error.errno)
    return {"limits": limits, "openFailure": failure, "tooBig": too_big}
'''

ECHO_PY = '''
def handler(event, context):
    return event
'''


def test_fork_storm_contained(api: Api, unique_name: str) -> None:
    storm = api.deploy(unique_name + "-storm", "python3.12", "handler.handler", make_zip({"handler.py": FORK_STORM_PY}))
    bystander = api.deploy(unique_name + "-calm", "python3.12", "handler.handler", make_zip({"handler.py": ECHO_PY}))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(api.invoke, storm["id"], {"forks": 10_000})
        # Another function keeps working while the storm runs.
        assert api.invoke(bystander["id"], {"ok": True}).json() == {"ok": True}
        response = pending.result(timeout=60)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["failure"] == "BlockingIOError"
    assert 0 < result["forked"] < 256
    assert api.invoke(bystander["id"], {"ok": 2}).json() == {"ok": 2}


def test_rlimits_applied(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": RLIMITS_PY}))
    response = api.invoke(function["id"], {})
    assert response.status_code == 200, response.text
    result = response.json()
    limits = result["limits"]
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_NOFILE"] == [1024, 1024]
    assert limits["RLIMIT_FSIZE"][1] == 512 * 1024 * 1024
    assert limits["RLIMIT_NPROC"][1] == 256
    assert result["openFailure"] == "OSError:24"
    assert result["tooBig"] == "OSError:27"


ORPHANS_PY = """
import os, subprocess, time

def handler(event, context):
    for _ in range(event["n"]):
        subprocess.run(["sh", "-c", "true & exit 0"], check=True)
    time.sleep(0.3)
    zombies = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                        zombies += 1
            except OSError:
                pass
    return {"zombies": zombies, "pid": os.getpid()}
"""


def test_orphans_are_reaped(api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "python3.12", "handler.handler", make_zip({"handler.py": ORPHANS_PY}))
    first = api.invoke(function["id"], {"n": 40})
    assert first.status_code == 200, first.text
    assert first.json()["zombies"] == 0
    # The handler does not run as PID 1, where the kernel ignores signals it has no handler for.
    assert first.json()["pid"] != 1
    second = api.invoke(function["id"], {"n": 40})
    assert second.json()["zombies"] == 0
