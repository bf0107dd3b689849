"""The current request id, kept in a context variable and stamped on every log record."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

import uuid_utils

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def new_request_id() -> str:
    """Return a new UUIDv7 (RFC 9562). It sorts by creation time, so the report and
    invocation rows keyed by it append to their primary-key indexes. Random UUIDv4 keys
    each dirty a random index page. In one measurement on SQLite with 480,000 rows, the
    records flusher spent 66 µs of CPU per invocation with v4 keys and 16 µs with v7."""
    return str(uuid_utils.uuid7())


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SecondCachingFormatter(logging.Formatter):
    """A Formatter that formats the date and time of `asctime` once per second, not once
    per record, because the server logs one access line per invocation."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return self.default_msec_format % (self._second_text, record.msecs)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        SecondCachingFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    # The format above uses no source location, thread, process or task, so LogRecord need
    # not look them up. With the formatter above, a log line costs 7 µs instead of 10-14 µs
    # (one measurement, Python 3.11).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The platform logs its own access line per invocation (rocketstack.access), so
    # uvicorn's per-request line would only repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
