"""Entry point of the `rocketstack` command: `serve` and the local administration
commands. Only this package exits the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rocketstack.cli import mcp_command
from rocketstack.context import configure_logging
from rocketstack.errors import ConfigurationError, RocketstackError
from rocketstack.settings import Settings

app = typer.Typer(
    help="Rocketstack: self-hosted serverless functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tenants_app = typer.Typer(help="Manage tenants of a local data directory.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")

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
            lines.append(f"  API key:          {platform.key_file.read_text().strip()}   (from {platform.key_file})")
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
) -> None:
    """Create a tenant in the data directory and print its first API key."""
    from rocketstack.deploy.validation import validate_name
    from rocketstack.store.database import Store

    settings = _settings(data_dir=data_dir)
    try:
        validate_name(name)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = Store.for_data_dir(settings.data_dir)
        store.create_schema()
        tenant, key = store.create_tenant(name)
    except RocketstackError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"tenant:           {tenant.name} ({tenant.id})")
    typer.echo(f"public base URL:  {settings.public_base_url}/{tenant.public_token}")
    typer.echo(f"API key:          {key}")


mcp_command.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
