"""`rocketstack keys`, `tenants create` and `configure` against the real server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli_runner import Cli
from tests.harness import Server, free_port


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return Cli(server, tmp_path / "config.toml")


def new_tenant(cli: Cli) -> dict:
    return cli.json("tenants", "create", f"cli-{free_port()}")


def test_cli_tenants_create_over_api(server: Server, cli: Cli, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    assert tenant["apiKey"].startswith("rs_")
    assert tenant["publicBaseUrl"].endswith("/" + tenant["publicToken"])

    again = cli("tenants", "create", tenant["name"])
    assert again.exit_code == 5
    assert "already exists" in again.stderr
    invalid = cli("tenants", "create", "9lives")
    assert invalid.exit_code == 2
    assert "name '9lives' is invalid" in invalid.stderr

    as_tenant = Cli(server, tmp_path / "other.toml", key=tenant["apiKey"])
    refused = as_tenant("tenants", "create", f"cli-{free_port()}")
    assert refused.exit_code == 6
    assert "default" in refused.stderr


def test_cli_tenants_create_local(server: Server, cli: Cli) -> None:
    name = f"local-{free_port()}"
    result = cli("tenants", "create", name, "--data-dir", str(server.data_dir))
    assert result.exit_code == 0, result.stderr
    key = next(
        line.split()[-1] for line in result.stdout.splitlines() if line.startswith("API key")
    )
    owner = Cli(server, Path(str(server.data_dir) + "-none.toml"), key=key)
    assert owner.json("functions", "list") == []


def test_cli_keys_create_list_revoke(server: Server, cli: Cli, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    owner = Cli(server, tmp_path / "owner.toml", key=tenant["apiKey"])
    [first] = owner.json("keys", "list")
    assert first["revokedAt"] is None

    last = owner("keys", "revoke", first["id"])
    assert last.exit_code == 5
    assert "last active key" in last.stderr

    created = owner("keys", "create")
    assert created.exit_code == 0, created.stderr
    new_key = created.stdout.strip()
    assert new_key.startswith("rs_")
    assert "not shown again" in created.stderr
    table = owner("keys", "list")
    assert table.stdout.startswith("ID")
    assert len(table.stdout.splitlines()) == 3

    second = Cli(server, tmp_path / "second.toml", key=new_key)
    assert second.json("keys", "revoke", first["prefix"]) == {
        "id": first["prefix"],
        "revoked": True,
    }
    revoked = owner("keys", "list")
    assert revoked.exit_code == 6
    unknown = second("keys", "revoke", "key_unknown")
    assert unknown.exit_code == 4
    keys = {key["id"]: key for key in second.json("keys", "list")}
    assert keys[first["id"]]["revokedAt"] is not None


def test_cli_configure_profile(server: Server, cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    no_key = {"ROCKETSTACK_API_KEY": None, "ROCKETSTACK_API_URL": None}
    saved = cli(
        "configure",
        "--api-url",
        server.url + "/",
        "--api-key",
        cli.env["ROCKETSTACK_API_KEY"],
        env=no_key,
    )
    assert saved.exit_code == 0, saved.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert isinstance(json.loads(cli("functions", "list", "--json", env=no_key).stdout), list)

    staging = cli(
        "configure",
        "--profile",
        "staging",
        "--api-url",
        server.url,
        "--api-key",
        "rs_wrong",
        env=no_key,
    )
    assert staging.exit_code == 0, staging.stderr
    assert '["default"]' in config.read_text()
    wrong = cli("functions", "list", "--profile", "staging", env=no_key)
    assert wrong.exit_code == 6
    by_variable = cli("functions", "list", env={**no_key, "ROCKETSTACK_PROFILE": "staging"})
    assert by_variable.exit_code == 6
    # A variable wins over the profile.
    variable_wins = cli(
        "functions",
        "list",
        "--profile",
        "staging",
        env={"ROCKETSTACK_API_KEY": cli.env["ROCKETSTACK_API_KEY"]},
    )
    assert variable_wins.exit_code == 0, variable_wins.stderr

    missing = cli("functions", "list", "--profile", "nope", env=no_key)
    assert missing.exit_code == 3
    assert "rocketstack configure --profile nope" in missing.stderr

    no_prompt = cli("configure", env=no_key)
    assert no_prompt.exit_code == 2
    assert "--api-key is required" in no_prompt.stderr


def test_cli_broken_profile_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[default\napi_key = ")
    result = cli("functions", "list", env={"ROCKETSTACK_API_KEY": None})
    assert result.exit_code == 3
    assert "cannot read the profile file" in result.stderr
