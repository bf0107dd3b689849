"""`rocketstack keys` (the tenant's own API keys) and `rocketstack configure` (profiles)."""

from __future__ import annotations

from typing import Annotated

import typer

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
    stdin_is_terminal,
)
from rocketstack.cli.config import DEFAULT_PROFILE, ProfileError, profile_path, write_profile

app = typer.Typer(help="Create, list and revoke the API keys of your tenant.", no_args_is_help=True)


@app.command("create")
def create_key(
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Create another API key for your tenant and print it (it is shown only once)."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        created = client.create_key()
    if json_output:
        print_json(
            {
                "id": created.id,
                "prefix": created.prefix,
                "key": created.key,
                "createdAt": created.created_at,
            }
        )
        return
    typer.echo(created.key)
    typer.echo(f"created API key {created.id}; store it now, it is not shown again", err=True)


@app.command("list")
def list_keys(
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """List your tenant's API keys by id and first characters; revoked keys included."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        keys = client.list_keys()
    if json_output:
        print_json(
            [
                {
                    "id": k.id,
                    "prefix": k.prefix,
                    "createdAt": k.created_at,
                    "revokedAt": k.revoked_at,
                }
                for k in keys
            ]
        )
        return
    typer.echo(f"{'ID':<24}  {'PREFIX':<12}  {'CREATED':<24}  REVOKED")
    for key in keys:
        typer.echo(f"{key.id:<24}  {key.prefix:<12}  {key.created_at:<24}  {key.revoked_at or '-'}")


@app.command("revoke")
def revoke_key(
    key_id: Annotated[
        str,
        typer.Argument(
            help="The key's id (key_...) or its first characters (rs_...).", show_default=False
        ),
    ],
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Revoke an API key of your tenant; it stops working at once."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        client.revoke_key(key_id)
    if json_output:
        print_json({"id": key_id, "revoked": True})
    else:
        typer.echo(f"revoked API key {key_id}")


def configure(
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="Control-plane URL to store.", show_default=False),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key to store.", show_default=False)
    ] = None,
    profile: Annotated[str, typer.Option("--profile", help="Profile to write.")] = DEFAULT_PROFILE,
    json_output: JsonOption = False,
) -> None:
    """Store an API URL and key in the profile file (mode 0600), for later commands."""
    path = profile_path()
    if api_key is None:
        if not stdin_is_terminal():
            fail(
                "--api-key is required when stdin is not a terminal",
                Exit.USAGE,
                as_json=json_output,
            )
        api_key = typer.prompt("API key", hide_input=True)
    values = {"api_key": api_key}
    if api_url:
        values["api_url"] = api_url.rstrip("/")
    try:
        write_profile(path, profile, values)
    except (ProfileError, OSError) as error:
        fail(f"cannot write the profile file {path}: {error}", Exit.CONFIG, as_json=json_output)
    if json_output:
        print_json({"profile": profile, "path": str(path)})
    else:
        typer.echo(f"saved profile {profile!r} in {path}")
