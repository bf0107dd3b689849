from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Api, Server

_names = itertools.count(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by the tests that need no special settings."""
    instance = Server(tmp_path_factory.mktemp("shared") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    with server.client() as client:
        yield client


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A function name unique in the shared server, derived from the test name."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")
    return f"t{next(_names)}-{base}"


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that restart it or change its settings."""
    instance = Server(tmp_path / "data")
    yield instance
    instance.stop()
