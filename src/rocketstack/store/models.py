"""Plain records that the store returns, so no SQL row leaves `store/`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> str:
    """Return the current time as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_epoch(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    public_token: str
    created_at: str


@dataclass(frozen=True)
class FunctionRecord:
    id: str
    tenant_id: str
    name: str
    runtime: str
    handler: str
    memory_mb: int
    timeout_seconds: int
    env: dict[str, str]
    reserved_concurrency: int | None
    description: str
    is_public: bool
    public_method: str | None
    status: str
    status_reason: str | None
    last_update_status: str | None
    last_update_status_reason: str | None
    version: int
    code_sha256: str
    code_size: int
    created_at: str
    updated_at: str
    # Queued invocations: retries after a failed attempt, and the age after which a
    # waiting event is dropped.
    max_retry_attempts: int = 2
    max_event_age_seconds: int = 21600


@dataclass
class LogRecord:
    function_id: str
    request_id: str
    timestamp: float
    stream: str
    message: str


@dataclass
class Report:
    request_id: str
    function_id: str
    version: int
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None
    memory_size_mb: int
    max_memory_used_mb: int | None
    outcome: str
    timestamp: float = field(default_factory=time.time)
