"""Network isolation: real handlers try to connect to the control-plane and public ports
and to another loopback service of the host, under both network policies."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Api, Server, make_zip

CONNECT_PY = '''
import os, socket

def handler(event, context):
    results = {}
    for host, port in event["targets"]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            try:
                sock.connect((host, port))
                results[f"{host}:{port}"] = "connected"
            except OSError as error:
                results[f"{host}:{port}"] = type(error).__name__
    return {"results": results, "netns": os.readlink("/proc/self/ns/net")}
'''

CONNECT_NODE = '''
const net = require('node:net');
function attempt(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.on('connect', () => { socket.destroy(); resolve('connected'); });
    socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
    socket.on('error', (error) => resolve(error.code));
  });
}
exports.handler = async (event) => {
  const results = {};
  for (const [host, port] of event.targets) results[`${host}:${port}`] = await attempt(host, port);
  return { results };
};
'''


@pytest.fixture
def loopback_service() -> Iterator[int]:
    """A TCP listener of the host on 127.0.0.1 that accepts and closes connections."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(2)
    listener.close()


def _targets(server: Server, service_port: int) -> list[list[Any]]:
    return [
        ["127.0.0.1", server.port],
        ["127.0.0.1", server.public_port],
        ["127.0.0.1", service_port],
        ["::1", server.port],
    ]


def _assert_unreachable(results: dict[str, str]) -> None:
    for target, outcome in results.items():
        assert outcome != "connected", target


@pytest.mark.parametrize(
    ("runtime", "handler", "files"),
    [
        ("python3.12", "handler.handler", {"handler.py": CONNECT_PY}),
        ("nodejs20.x", "index.handler", {"index.js": CONNECT_NODE}),
    ],
)
def test_platform_ports_unreachable(
    server: Server, api: Api, unique_name: str, loopback_service: int,
    runtime: str, handler: str, files: dict[str, str],
) -> None:
    # The host itself reaches the service, so a refusal below comes from the sandbox.
    socket.create_connection(("127.0.0.1", loopback_service), timeout=2).close()
    function = api.deploy(unique_name, runtime, handler, make_zip(files))
    response = api.invoke(function["id"], {"targets": _targets(server, loopback_service)})
    assert response.status_code == 200, response.text
    _assert_unreachable(response.json()["results"])


def test_outbound_policy_blocks_loopback(tmp_path: Path, loopback_service: int) -> None:
    server = Server(tmp_path / "data", env={"ROCKETSTACK_NETWORK_POLICY": "outbound"}).start()
    try:
        with server.client() as api:
            function = api.deploy("outbound", "python3.12", "handler.handler", make_zip({"handler.py": CONNECT_PY}))
            response = api.invoke(function["id"], {"targets": _targets(server, loopback_service)})
            assert response.status_code == 200, response.text
            body = response.json()
            _assert_unreachable(body["results"])
            if "network policy 'outbound' unavailable" not in server.log():
                # The policy took effect: the instance shares the host's network namespace,
                # and only the loopback rule keeps it from the ports above.
                assert body["netns"] == os.readlink("/proc/self/ns/net")
    finally:
        server.stop()
