"""Entry point of the `rocketstack` command: `serve`, the local administration commands,
and one sub-app per area of the API (functions, keys). Only this package exits the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rocketstack.cli import functions, keys, mcp_command
from rocketstack.cli.common import (
    ApiKeyOption,
    ApiUrlOption,
    Exit,
    JsonOption,
    ProfileOption,
    fail,
    make_client,
    print_json,
    reporting,
)
from rocketstack.cli.config import has_api_settings
from rocketstack.context import configure_logging
from rocketstack.errors import ConfigurationError, RocketstackError
from rocketstack.settings import Settings

app = typer.Typer(
    help="Rocketstack: self-hosted serverless functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tenants_app = typer.Typer(help="Create tenants, over the API or in a local data directory.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(functions.app, name="functions")
app.add_typer(keys.app, name="keys")
app.command("configure")(keys.configure)

DataDirOption = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Data directory (state, code); default .rocketstack or ROCKETSTACK_DATA_DIR."),
]


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on; default 127.0.0.1 or ROCKETSTACK_HOST.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Control-plane and Console port; default 8080 or ROCKETSTACK_PORT.")] = None,
    public_port: Annotated[Optional[int], typer.Option("--public-port", help="Public gateway port; default 8081 or ROCKETSTACK_PUBLIC_PORT.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start the control plane, Console and public gateway."""
    settings = _settings(host=host, port=port, public_port=public_port, data_dir=data_dir)
    configure_logging(os.environ.get("ROCKETSTACK_LOG_LEVEL", "INFO"))
    from rocketstack.server import serve as serve_forever

    def banner(platform: object) -> None:
        from rocketstack.platform import Platform

        assert isinstance(platform, Platform)
        key = platform.created_admin_key
        lines = ["", "Rocketstack is running."]
        lines.append(f"  API URL:          {settings.api_url}")
        lines.append(f"  Console:          {settings.api_url}/console")
        lines.append(f"  Public base URL:  {settings.public_base_url}/{platform.default_tenant().public_token}")
        if key:
            lines.append(f"  API key:          {key}   (shown once; also in {platform.key_file})")
        elif platform.key_file.exists():
            # The key itself is printed on the first start only, so logs of later starts
            # do not carry it.
            lines.append(f"  API key:          in {platform.key_file} (cat it to read it)")
        else:
            lines.append("  API key:          the one in ROCKETSTACK_ADMIN_API_KEY")
        lines.append("")
        print("\n".join(lines), flush=True)

    try:
        serve_forever(settings, on_ready=banner)
    except OSError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="Tenant name, 1-64 letters, numbers, hyphens, underscores.")],
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Create a tenant and print its first API key.

    With an API key configured (a key of the default tenant) this goes through the API;
    with --data-dir, or with no API key, it writes to the local data directory.
    """
    if data_dir is None and has_api_settings(api_url, api_key, profile):
        with reporting(json_output), make_client(api_url, api_key, profile) as client:
            created = client.create_tenant(name)
        tenant_id, public_token, key = created.id, created.public_token, created.api_key
        public_base_url = created.public_base_url
    else:
        tenant_id, public_token, key, public_base_url = _create_local_tenant(name, data_dir, json_output)
    if json_output:
        print_json(
            {
                "id": tenant_id,
                "name": name,
                "publicToken": public_token,
                "publicBaseUrl": public_base_url,
                "apiKey": key,
            }
        )
        return
    typer.echo(f"tenant:           {name} ({tenant_id})")
    typer.echo(f"public base URL:  {public_base_url}")
    typer.echo(f"API key:          {key}")


def _create_local_tenant(
    name: str, data_dir: Path | None, json_output: bool
) -> tuple[str, str, str, str]:
    from rocketstack.deploy.validation import validate_name
    from rocketstack.errors import Conflict
    from rocketstack.store.database import Store

    settings = _settings(data_dir=data_dir)
    try:
        validate_name(name)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = Store.for_data_dir(settings.data_dir)
        store.create_schema()
        tenant, key = store.create_tenant(name)
    except RocketstackError as error:
        code = Exit.CONFLICT if isinstance(error, Conflict) else Exit.USAGE
        fail(error.message, code, as_json=json_output)
    return tenant.id, tenant.public_token, key, f"{settings.public_base_url}/{tenant.public_token}"


mcp_command.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
