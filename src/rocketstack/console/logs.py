"""The Logs tab: the latest log lines, then a live tail over server-sent events, both
filtered by stream and request id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from rocketstack.console.functions import function_context
from rocketstack.store.console_queries import recent_logs
from rocketstack.store.models import FunctionRecord, iso_from_epoch

if TYPE_CHECKING:
    from rocketstack.console.app import Console

STREAMS = ("stdout", "stderr", "system")
RECENT_LINES = 500
BATCH_LINES = 500
# A tail response ends after this many seconds and the browser reconnects at once with
# Last-Event-ID, so a stopping server waits at most this long for an open tail.
TAIL_SECONDS = 15.0
KEEPALIVE_SECONDS = 5.0


def _filters(request: Request) -> tuple[str | None, str | None]:
    stream = request.query_params.get("stream") or None
    if stream not in STREAMS:
        stream = None
    request_id = (request.query_params.get("requestId") or "").strip() or None
    return stream, request_id


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    return int(raw) if raw.isdigit() else None


def routes(console: Console) -> list[Route]:
    platform = console.platform

    async def page(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        stream, request_id = _filters(request)
        await platform.records.flush()
        lines = recent_logs(
            platform.store.engine, record.id, request_id=request_id, stream=stream, limit=RECENT_LINES
        )
        last_id = lines[-1][0] if lines else _latest_id(console, record.id)
        return console.render(
            request,
            "tab_logs.html",
            {
                **context,
                "tab": "logs",
                "lines": lines,
                "last_id": last_id,
                "stream": stream or "",
                "request_id": request_id or "",
                "streams": STREAMS,
                "recent_lines": RECENT_LINES,
            },
        )

    async def tail(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        stream, request_id = _filters(request)
        after = _last_event_id(request)
        if after is None:
            after = _latest_id(console, record.id)
        return StreamingResponse(
            _events(console, request, record.id, stream, request_id, after),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    return [
        Route("/functions/{function_id}/logs", page, methods=["GET"]),
        Route("/functions/{function_id}/logs/tail", tail, methods=["GET"]),
    ]


def _latest_id(console: Console, function_id: str) -> int:
    latest = recent_logs(
        console.platform.store.engine, function_id, request_id=None, stream=None, limit=1
    )
    return latest[-1][0] if latest else 0


async def _events(
    console: Console,
    request: Request,
    function_id: str,
    stream: str | None,
    request_id: str | None,
    after: int,
) -> AsyncIterator[bytes]:
    """Yield log lines after id `after` as SSE events whose id is the log line's id."""
    records = console.platform.records
    store = console.platform.store
    waiter = records.subscribe()
    ends = time.monotonic() + TAIL_SECONDS
    try:
        yield b"retry: 500\n\n"
        while time.monotonic() < ends and not await request.is_disconnected():
            waiter.clear()
            lines = store.query_logs(function_id, request_id=request_id, after_id=after, limit=BATCH_LINES)
            if lines:
                after = lines[-1][0]
                chunk = bytearray()
                for line_id, line in lines:
                    if stream is not None and line.stream != stream:
                        continue
                    data = orjson.dumps(
                        {
                            "id": line_id,
                            "timestamp": iso_from_epoch(line.timestamp),
                            "requestId": line.request_id,
                            "stream": line.stream,
                            "message": line.message,
                        }
                    )
                    chunk += b"id: %d\ndata: %s\n\n" % (line_id, data)
                # The id moves past lines the stream filter skipped, so a reconnect skips them too.
                chunk += b"id: %d\n: position\n\n" % after
                yield bytes(chunk)
                if len(lines) == BATCH_LINES:
                    continue
            try:
                await asyncio.wait_for(waiter.wait(), timeout=min(KEEPALIVE_SECONDS, max(0.0, ends - time.monotonic())))
            except TimeoutError:
                yield b": keep-alive\n\n"
    finally:
        records.unsubscribe(waiter)
