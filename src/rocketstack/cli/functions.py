"""`rocketstack functions`: list, get, invoke, logs and delete (deploy is in deploy.py)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

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
from rocketstack.cli.deploy import deploy
from rocketstack.client import Client, Function, InvocationResult, LogLine, Report

app = typer.Typer(help="Deploy, invoke and inspect functions.", no_args_is_help=True)
app.command("deploy")(deploy)

NameArgument = Annotated[
    str, typer.Argument(help="Function name (or id, fn_...).", show_default=False)
]

# Seconds between two polls of `logs --follow`.
FOLLOW_INTERVAL = 1.0
_LOG_PAGE = 1000


@app.command("list")
def list_functions(
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """List the tenant's functions, newest first."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        functions = list(client.iter_functions())
    if json_output:
        print_json([function.raw for function in functions])
        return
    rows = [("NAME", "STATUS", "RUNTIME", "VERSION", "PUBLIC", "UPDATED")]
    for function in functions:
        rows.append(
            (
                function.name,
                function.status,
                function.runtime,
                str(function.version or ""),
                function.public_method or "-",
                function.updated_at or "",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        typer.echo("  ".join(cells).rstrip())


@app.command("get")
def get_function(
    name: NameArgument,
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Show a function's configuration and status."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        function = client.resolve(name)
    if json_output:
        print_json(function.raw)
    else:
        print_function(function)


def print_function(function: Function) -> None:
    env = ", ".join(sorted(function.env)) or "-"
    concurrency = (
        "unreserved" if function.reserved_concurrency is None else function.reserved_concurrency
    )
    rows = [
        ("name", function.name),
        ("id", function.id),
        (
            "status",
            function.status + (f" ({function.status_reason})" if function.status_reason else ""),
        ),
        ("runtime", function.runtime),
        ("handler", function.handler),
        ("memory", f"{function.memory_mb} MB"),
        ("timeout", f"{function.timeout_seconds} s"),
        ("reserved concurrency", str(concurrency)),
        ("environment", env),
        ("description", function.description or "-"),
        (
            "public URL",
            f"{function.public_url} ({function.public_method})" if function.public_url else "-",
        ),
        ("version", str(function.version)),
        ("code", f"{function.code_size} bytes, sha256 {function.code_sha256}"),
        ("created", function.created_at or "-"),
        ("updated", function.updated_at or "-"),
    ]
    if function.last_update_status:
        reason = function.last_update_status_reason
        rows.append(
            ("last update", function.last_update_status + (f" ({reason})" if reason else ""))
        )
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        typer.echo(f"{(label + ':').ljust(width)} {value}")


def read_data(data: str | None) -> bytes | None:
    """Return the event bytes of --data (JSON text, @file or - for stdin), checked as JSON."""
    if data is None:
        return None
    if data == "-":
        raw = sys.stdin.buffer.read()
        where = "stdin"
    elif data.startswith("@"):
        path = Path(data[1:])
        try:
            raw = path.read_bytes()
        except OSError as error:
            fail(
                f"cannot read --data file {path}: {error.strerror}; check the path after @",
                Exit.USAGE,
            )
        where = str(path)
    else:
        raw = data.encode()
        where = "--data"
    if not raw.strip():
        return None
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        fail(
            f"{where} is not valid JSON ({error}); pass a JSON value, @file or - for stdin",
            Exit.USAGE,
        )
    return raw


@app.command("invoke")
def invoke_function(
    name: NameArgument,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="The event: JSON text, @FILE to read a file, or - to read stdin. Default {}.",
            show_default=False,
        ),
    ] = None,
    show_logs: Annotated[
        bool, typer.Option("--logs", help="Also print the invocation's log lines on stderr.")
    ] = False,
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Invoke a function: the result goes to stdout, the report line to stderr."""
    payload = read_data(data)
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        function = client.resolve(name)
        result = client.invoke(function.id, payload=payload)
        records = client.logs(function.id, request_id=result.request_id)
    report = records.reports[0] if records.reports else None
    if json_output:
        print_json(invocation_json(result, report, records.lines if show_logs else None))
    else:
        typer.echo(result.body.decode(errors="replace"))
        if show_logs:
            for line in records.lines:
                typer.echo(format_line(line), err=True)
        typer.echo(
            format_report(report) if report else f"REPORT RequestId: {result.request_id}", err=True
        )
    if result.error is not None:
        fail(
            f"the handler failed with {result.error.error_type}: {result.error.error_message} "
            f"(request id {result.request_id}); see `rocketstack functions logs {function.name} "
            f"--request-id {result.request_id}`",
            Exit.FUNCTION_ERROR,
            as_json=json_output,
            details={"errorType": result.error.error_type, "requestId": result.request_id},
        )


def invocation_json(
    result: InvocationResult, report: Report | None, lines: list[LogLine] | None
) -> dict[str, Any]:
    document: dict[str, Any] = {"requestId": result.request_id, "statusCode": result.status_code}
    if result.error is None:
        document["result"] = result.payload
    else:
        document["error"] = result.payload
    document["report"] = None if report is None else report_json(report)
    if lines is not None:
        document["logs"] = [line_json(line) for line in lines]
    return document


def report_json(report: Report) -> dict[str, Any]:
    return {
        "timestamp": report.timestamp,
        "requestId": report.request_id,
        "version": report.version,
        "durationMs": report.duration_ms,
        "billedDurationMs": report.billed_duration_ms,
        "initDurationMs": report.init_duration_ms,
        "memorySizeMb": report.memory_size_mb,
        "maxMemoryUsedMb": report.max_memory_used_mb,
        "outcome": report.outcome,
    }


def line_json(line: LogLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "timestamp": line.timestamp,
        "requestId": line.request_id,
        "stream": line.stream,
        "message": line.message,
    }


def format_report(report: Report) -> str:
    parts = [f"REPORT RequestId: {report.request_id}"]
    if report.duration_ms is not None:
        parts.append(f"Duration: {report.duration_ms:.2f} ms")
    if report.billed_duration_ms is not None:
        parts.append(f"Billed Duration: {report.billed_duration_ms} ms")
    if report.memory_size_mb is not None:
        parts.append(f"Memory Size: {report.memory_size_mb} MB")
    if report.max_memory_used_mb is not None:
        parts.append(f"Max Memory Used: {report.max_memory_used_mb:g} MB")
    if report.init_duration_ms is not None:
        parts.append(f"Init Duration: {report.init_duration_ms:.2f} ms")
    if report.outcome and report.outcome != "success":
        parts.append(f"Outcome: {report.outcome}")
    return "\t".join(parts)


def format_line(line: LogLine) -> str:
    return f"{line.timestamp} {line.request_id} {line.stream}\t{line.message.rstrip()}"


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str | None) -> str | None:
    """Turn a relative time (30s, 10m, 2h, 1d) into epoch seconds. Other values go to the
    API as they are: it accepts ISO 8601 and epoch seconds, and its error names the value."""
    if value is None:
        return None
    match = _RELATIVE.match(value.strip())
    if match is None:
        return value
    return f"{time.time() - float(match.group(1)) * _UNIT_SECONDS[match.group(2)]:.3f}"


def new_records(
    client: Client,
    function_id: str,
    since: str | None,
    request_id: str | None,
    seen: set[tuple[str, object]],
) -> tuple[list[LogLine | Report], str | None]:
    """Fetch the records since `since` that are not in `seen`, oldest first, page by page.

    Returns them with the `since` to use for the next poll.
    """
    found: list[LogLine | Report] = []
    for _page in range(1000):
        page = client.logs(function_id, request_id=request_id, since=since, limit=_LOG_PAGE)
        for line in page.lines:
            if ("line", line.id) not in seen:
                seen.add(("line", line.id))
                found.append(line)
        for report in page.reports:
            if ("report", report.request_id) not in seen:
                seen.add(("report", report.request_id))
                found.append(report)
        if len(page.lines) < _LOG_PAGE or page.lines[-1].timestamp == since:
            break
        since = page.lines[-1].timestamp
    found.sort(key=lambda record: (record.timestamp, isinstance(record, Report)))
    if found:
        since = max(record.timestamp for record in found)
    return found, since


def _records(
    client: Client, function_id: str, since: str | None, request_id: str | None, follow: bool
) -> Iterator[LogLine | Report]:
    seen: set[tuple[str, object]] = set()
    while True:
        found, since = new_records(client, function_id, since, request_id, seen)
        yield from found
        if not follow:
            return
        time.sleep(FOLLOW_INTERVAL)


@app.command("logs")
def function_logs(
    name: NameArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records until interrupted.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only records from this time: a duration back (30s, 10m, 2h, 1d), ISO 8601, "
            "or epoch seconds.",
            show_default=False,
        ),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id", help="Only the records of this invocation.", show_default=False
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per record (JSON Lines).")
    ] = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Print a function's log lines and one REPORT record per invocation, oldest first."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        function = client.resolve(name)
        for record in _records(client, function.id, parse_since(since), request_id, follow):
            if json_output:
                if isinstance(record, Report):
                    document = {"type": "report", **report_json(record)}
                else:
                    document = {"type": "log", **line_json(record)}
                typer.echo(json.dumps(document))
            elif isinstance(record, Report):
                typer.echo(f"{record.timestamp} {format_report(record)}")
            else:
                typer.echo(format_line(record))
            sys.stdout.flush()


@app.command("delete")
def delete_function(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    json_output: JsonOption = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Delete a function, its code and its logs."""
    with reporting(json_output), make_client(api_url, api_key, profile) as client:
        function = client.resolve(name)
        if not yes:
            if not stdin_is_terminal():
                fail(
                    f"deleting function {function.name!r} needs confirmation and stdin is not a "
                    "terminal; pass --yes",
                    Exit.USAGE,
                    as_json=json_output,
                )
            if not typer.confirm(f"Delete function {function.name!r} ({function.id})?"):
                fail("not deleted", Exit.ERROR, as_json=json_output)
        client.delete_function(function.id)
    if json_output:
        print_json({"id": function.id, "name": function.name, "deleted": True})
    else:
        typer.echo(f"deleted function {function.name} ({function.id})")
