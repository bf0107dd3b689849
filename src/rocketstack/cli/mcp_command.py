"""`rocketstack mcp`: the MCP server over stdio, for AI assistants and editors."""

from __future__ import annotations

import logging
import os
import sys

import anyio
import typer


def mcp() -> None:
    """Serve MCP over stdio, talking to the server at ROCKETSTACK_API_URL with ROCKETSTACK_API_KEY."""
    from rocketstack.errors import ConfigurationError
    from rocketstack.mcp.stdio import StdioConfig, serve_stdio

    try:
        config = StdioConfig.from_env(os.environ)
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    # stdout carries the protocol, so logs go to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("ROCKETSTACK_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        anyio.run(serve_stdio, config)
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
