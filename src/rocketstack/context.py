"""The current request id, kept in a context variable and stamped on every log record."""

from __future__ import annotations

import logging
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


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The platform logs its own access line per invocation (rocketstack.access), so
    # uvicorn's per-request line would only repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
