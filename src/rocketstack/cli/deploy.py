"""`rocketstack functions deploy`: zip a folder and create or update the function by name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import click
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
    stderr_is_terminal,
)
from rocketstack.client import DeployResult


class UploadProgress:
    """An upload progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, sent: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Uploading", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(sent - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def parse_env(pairs: list[str], env_file: Path | None) -> dict[str, str] | None:
    """Merge --env-file and --env KEY=VALUE pairs (the pairs win); None when neither is given."""
    if not pairs and env_file is None:
        return None
    env: dict[str, str] = {}
    if env_file is not None:
        env.update(read_env_file(env_file))
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--env {pair!r} is invalid; use --env KEY=VALUE", Exit.USAGE)
        env[key] = value
    return env


def read_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; blank lines, # comments and a leading `export ` are allowed, and
    a value in matching single or double quotes loses the quotes."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read --env-file {path}: {error}; check the path", Exit.USAGE)
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"{path}:{number} is not KEY=VALUE: {raw!r}; fix or remove that line", Exit.USAGE)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def deploy(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Folder to deploy (its contents become the root of the code ZIP), or a .zip file."
        ),
    ] = Path("."),
    name: Annotated[
        str,
        typer.Option("--name", "-n", help="Function name; created if new, updated if it exists."),
    ] = "",
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime",
            "-r",
            help="nodejs20.x or python3.12; required to create.",
            show_default=False,
        ),
    ] = None,
    handler: Annotated[
        str | None,
        typer.Option(
            "--handler",
            help="Entry point fileName.exportedFunction, e.g. index.handler or handler.handler; "
            "required to create.",
            show_default=False,
        ),
    ] = None,
    memory: Annotated[
        int | None,
        typer.Option(
            "--memory",
            help="Memory limit in MB, 128-10240 (new functions: 256).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        int | None,
        typer.Option(
            "--timeout",
            help="Time limit per invocation in seconds, 1-60 (new functions: 10).",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            "-e",
            help="Environment variable KEY=VALUE; repeat for more. Replaces the whole environment.",
            show_default=False,
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            help="File of KEY=VALUE lines; --env pairs override it.",
            show_default=False,
        ),
    ] = None,
    reserved_concurrency: Annotated[
        int | None,
        typer.Option(
            "--reserved-concurrency",
            help="0 pauses the function; 1-100 caps concurrent invocations.",
            show_default=False,
        ),
    ] = None,
    max_retry_attempts: Annotated[
        int | None,
        typer.Option(
            "--max-retry-attempts",
            help="Retries of a failed queued invocation, 0-5 (new functions: 2).",
            show_default=False,
        ),
    ] = None,
    max_event_age: Annotated[
        int | None,
        typer.Option(
            "--max-event-age",
            help="Seconds a queued event may wait before it is dropped as failed, 1-86400.",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="Up to 256 characters.", show_default=False),
    ] = None,
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private",
            help="Serve the function at a public URL without an API key, or stop.",
            show_default=False,
        ),
    ] = None,
    public_method: Annotated[
        str | None,
        typer.Option(
            "--public-method",
            help="The one HTTP method of the public URL: GET, POST, PATCH or DELETE "
            "(default POST); implies --public.",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait", help="Wait until the function is ready, or report why it failed."
        ),
    ] = True,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds to wait for ready before giving up.")
    ] = 300.0,
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Zip DIR and create the function NAME, or update it when it exists.

    Unchanged code and settings send nothing. Files matched by .gitignore or
    .rocketstackignore are left out, and so are .git, .venv, __pycache__,
    node_modules/.cache and .env* files.
    """
    if not name:
        fail("--name is required; pass --name NAME", Exit.USAGE, as_json=json_output)
    if public is False and public_method:
        fail(
            "--public-method needs a public function; drop --private",
            Exit.USAGE,
            as_json=json_output,
        )
    if public_method and public is None:
        public = True
    config = {
        "memory_mb": memory,
        "timeout_seconds": timeout,
        "env": parse_env(env or [], env_file),
        "reserved_concurrency": reserved_concurrency,
        "description": description,
        "is_public": public,
        "public_method": public_method.upper() if public_method else None,
        "max_retry_attempts": max_retry_attempts,
        "max_event_age_seconds": max_event_age,
    }
    progress = UploadProgress(stderr_is_terminal() and not json_output)
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        if not json_output:
            typer.echo(f"Deploying {directory} as {name}...", err=True)
        try:
            result = client.deploy(
                name,
                directory,
                runtime=runtime,
                handler=handler,
                wait=wait,
                timeout=wait_timeout,
                progress=progress,
                **config,
            )
        finally:
            progress.close()
    if json_output:
        print_json({"action": result.action, "function": result.function.raw})
    else:
        typer.echo(describe(result))


def describe(result: DeployResult) -> str:
    function = result.function
    if result.action == "unchanged":
        head = f"function {function.name} ({function.id}) is unchanged"
    else:
        head = f"{result.action} function {function.name} ({function.id})"
    lines = [f"{head}, version {function.version}: {function.status}"]
    if function.status == "creating":
        lines.append(f"check it with `rocketstack functions get {function.name}`")
    if function.public_url:
        lines.append(f"public URL: {function.public_url} ({function.public_method})")
    return "\n".join(lines)
