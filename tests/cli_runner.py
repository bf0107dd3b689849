"""Run the `rocketstack` command in-process against a server, with a profile file of the
test's own, so no user configuration leaks in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from rocketstack.cli.main import app
from tests.harness import ADMIN_KEY, Server


class Cli:
    def __init__(self, server: Server, config: Path, key: str = ADMIN_KEY) -> None:
        self.env = {
            "ROCKETSTACK_API_URL": server.url,
            "ROCKETSTACK_API_KEY": key,
            "ROCKETSTACK_CONFIG": str(config),
            "ROCKETSTACK_PROFILE": "",
        }

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, list(args), input=input, env={**self.env, **(env or {})})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self(*args, "--json", **kwargs)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)
