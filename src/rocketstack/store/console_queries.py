"""Read-only queries behind the Console's pages: per-function summaries of invocation
reports, the reports behind the Monitor tab's plots, and the latest log lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from rocketstack.store import schema
from rocketstack.store.models import LogRecord

# Outcomes of an invocation that ran and failed; "throttled" never ran and "success" worked.
ERROR_OUTCOMES = ("error", "timeout", "outOfMemory")


@dataclass(frozen=True)
class FunctionSummary:
    last_invocation: float | None
    invocations: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None


@dataclass(frozen=True)
class ReportPoint:
    timestamp: float
    duration_ms: float
    outcome: str


def summarize(engine: Engine, function_ids: Sequence[str], since: float) -> dict[str, FunctionSummary]:
    """Return the last invocation time and the invocations and errors since `since` of
    each function; throttled requests count as neither."""
    if not function_ids:
        return {}
    table = schema.reports
    ran = table.c.outcome != "throttled"
    query = (
        select(
            table.c.function_id,
            func.max(case((ran, table.c.timestamp))),
            func.sum(case((ran & (table.c.timestamp >= since), 1), else_=0)),
            func.sum(
                case((table.c.outcome.in_(ERROR_OUTCOMES) & (table.c.timestamp >= since), 1), else_=0)
            ),
        )
        .where(table.c.function_id.in_(list(function_ids)))
        .group_by(table.c.function_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        row[0]: FunctionSummary(row[1], int(row[2] or 0), int(row[3] or 0)) for row in rows
    }


def report_points(engine: Engine, function_id: str, since: float, limit: int) -> list[ReportPoint]:
    """Return up to `limit` reports of the function since `since`, oldest first."""
    table = schema.reports
    query = (
        select(table.c.timestamp, table.c.duration_ms, table.c.outcome)
        .where(table.c.function_id == function_id)
        .where(table.c.timestamp >= since)
        .order_by(table.c.timestamp.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [ReportPoint(row[0], row[1], row[2]) for row in reversed(rows)]


def recent_logs(
    engine: Engine, function_id: str, *, request_id: str | None, stream: str | None, limit: int
) -> list[tuple[int, LogRecord]]:
    """Return the function's latest `limit` log lines matching the filters, oldest first."""
    table = schema.log_records
    query = select(table).where(table.c.function_id == function_id)
    if request_id:
        query = query.where(table.c.request_id == request_id)
    if stream:
        query = query.where(table.c.stream == stream)
    query = query.order_by(table.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        (row.id, LogRecord(row.function_id, row.request_id, row.timestamp, row.stream, row.message))
        for row in reversed(rows)
    ]
