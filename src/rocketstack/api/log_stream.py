"""Follow mode of the logs route: server-sent events with one `log` event per record and one
`report` event per invocation, as they are stored. A client that reconnects with
Last-Event-ID resumes after the last log record it received."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
from starlette.requests import Request

from rocketstack.api.serialize import log_json, report_json
from rocketstack.platform import Platform

# A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
# How often the stream checks that its client is still connected.
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class LogQuery:
    function_id: str
    request_id: str | None
    since: float | None
    until: float | None
    limit: int


def _event(kind: str, data: object, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


# TODO: the pool stores an invocation's records when it ends, so a follower sees the lines
# of a long invocation only then, not as they are printed.
async def follow_logs(
    platform: Platform, request: Request, query: LogQuery, after_id: int | None
) -> AsyncIterator[bytes]:
    """Yield stored records matching `query`, then new ones as they are flushed, until the
    client disconnects, `query.until` passes or the server shuts down."""
    store = platform.store
    waiter = platform.records.subscribe()
    last_id = after_id
    report_since = query.since
    sent_reports: set[str] = set()
    idle = 0.0
    try:
        await platform.records.flush()
        while True:
            waiter.clear()
            rows = await asyncio.to_thread(
                store.query_logs,
                query.function_id,
                request_id=query.request_id,
                since=query.since,
                until=query.until,
                after_id=last_id,
                limit=query.limit,
            )
            for record_id, record in rows:
                last_id = record_id
                yield _event("log", log_json(record_id, record), record_id)
            reports = await asyncio.to_thread(
                store.query_reports,
                query.function_id,
                request_id=query.request_id,
                since=report_since,
                until=query.until,
                limit=query.limit,
            )
            for report in reversed(reports):
                if report.request_id in sent_reports:
                    continue
                # Only reports at the newest timestamp can come back from the next query.
                if report_since is None or report.timestamp > report_since:
                    report_since = report.timestamp
                    sent_reports.clear()
                sent_reports.add(report.request_id)
                yield _event("report", report_json(report))
            if len(rows) >= query.limit:
                continue
            if query.until is not None and time.time() > query.until:
                return
            while not waiter.is_set():
                if platform.closing.is_set() or await request.is_disconnected():
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), _POLL_SECONDS)
                except TimeoutError:
                    idle += _POLL_SECONDS
                    if idle >= KEEPALIVE_SECONDS:
                        idle = 0.0
                        yield b": keep-alive\n\n"
    finally:
        platform.records.unsubscribe(waiter)
