"""Invocation records: queued invocations (stored before they are accepted, updated on
each attempt) and the finished synchronous ones that the records buffer writes in batches."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, delete, insert, or_, select, update

from rocketstack.errors import InvalidParameter
from rocketstack.store import schema
from rocketstack.store.database import Store

SYNC = "sync"
QUEUED = "queued"

STATUS_QUEUED = "queued"
STATUS_RUNNING = "running"
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"
STATUSES = (STATUS_QUEUED, STATUS_RUNNING, STATUS_SUCCEEDED, STATUS_FAILED)


@dataclass
class InvocationRecord:
    id: str
    tenant_id: str
    function_id: str
    # SYNC or QUEUED.
    type: str
    # The source of the invocation: "api", "public" (the public URL) or "schedule".
    trigger: str
    status: str
    created_at: float
    status_reason: str | None = None
    payload: bytes | None = None
    # JSON bytes: the handler's return value, or an error body {"errorType", ...}.
    result: bytes | None = None
    error: bytes | None = None
    attempts: int = 0
    request_ids: list[str] = field(default_factory=list)
    version: int | None = None
    schedule_id: str | None = None
    redrive_count: int = 0
    queued_at: float | None = None
    next_attempt_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None

    def row(self) -> dict[str, Any]:
        return asdict(self)


class InvocationStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self.table = schema.invocations

    def insert(self, record: InvocationRecord) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(insert(self.table).values(**record.row()))

    def get(self, invocation_id: str) -> InvocationRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.id == invocation_id)).first()
        return InvocationRecord(**row._mapping) if row else None

    def list_for_function(
        self,
        function_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        status: str | None = None,
        kind: str | None = None,
    ) -> tuple[list[InvocationRecord], str | None]:
        """List a function's invocations newest first, without their payloads."""
        table = self.table
        columns = [c for c in table.columns if c.name != "payload"]
        query = select(*columns).where(table.c.function_id == function_id)
        if status:
            query = query.where(table.c.status == status)
        if kind:
            query = query.where(table.c.type == kind)
        if cursor:
            created_at, invocation_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    table.c.created_at < created_at,
                    and_(table.c.created_at == created_at, table.c.id < invocation_id),
                )
            )
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        records = [InvocationRecord(**row._mapping) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = records[-1]
            next_cursor = encode_cursor(last.created_at, last.id)
        return records, next_cursor

    def due(self, now: float, limit: int, skip_functions: set[str]) -> list[InvocationRecord]:
        """Return queued invocations whose next attempt is due, oldest first."""
        table = self.table
        query = (
            select(table)
            .where(table.c.status == STATUS_QUEUED)
            .where(table.c.next_attempt_at <= now)
        )
        if skip_functions:
            query = query.where(table.c.function_id.not_in(sorted(skip_functions)))
        query = query.order_by(table.c.next_attempt_at, table.c.created_at).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [InvocationRecord(**row._mapping) for row in rows]

    def next_due_time(self, skip_functions: set[str]) -> float | None:
        table = self.table
        query = (
            select(table.c.next_attempt_at)
            .where(table.c.status == STATUS_QUEUED)
            .order_by(table.c.next_attempt_at)
            .limit(1)
        )
        if skip_functions:
            query = query.where(table.c.function_id.not_in(sorted(skip_functions)))
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return float(value) if value is not None else None

    def claim(self, record: InvocationRecord, request_id: str, now: float) -> bool:
        """Mark a queued invocation running for one more attempt; False when another
        change got there first."""
        request_ids = [*record.request_ids, request_id]
        with self.store._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                update(self.table)
                .where(self.table.c.id == record.id)
                .where(self.table.c.status == STATUS_QUEUED)
                .values(
                    status=STATUS_RUNNING,
                    attempts=record.attempts + 1,
                    request_ids=request_ids,
                    started_at=now,
                    status_reason=None,
                )
            )
        if result.rowcount != 1:
            return False
        record.status = STATUS_RUNNING
        record.attempts += 1
        record.request_ids = request_ids
        record.started_at = now
        return True

    def set(self, invocation_id: str, **values: Any) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(
                update(self.table).where(self.table.c.id == invocation_id).values(**values)
            )

    def requeue_interrupted(self, now: float) -> int:
        """Queue again the invocations that were running when the server stopped; the
        interrupted attempt does not count against the retries."""
        table = self.table
        with self.store._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where(table.c.status == STATUS_RUNNING)
                .values(
                    status=STATUS_QUEUED,
                    attempts=table.c.attempts - 1,
                    next_attempt_at=now,
                    status_reason="the server stopped during an attempt; it runs again",
                )
            )
        return int(result.rowcount)

    def expire(self, function_id: str, queued_before: float, reason: str, now: float) -> int:
        """Fail a function's queued invocations that were queued before `queued_before`."""
        table = self.table
        with self.store._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where(table.c.function_id == function_id)
                .where(table.c.status == STATUS_QUEUED)
                .where(table.c.queued_at < queued_before)
                .values(
                    status=STATUS_FAILED,
                    status_reason=reason,
                    next_attempt_at=None,
                    finished_at=now,
                )
            )
        return int(result.rowcount)

    def redrive(self, function_id: str, invocation_id: str | None, now: float) -> list[str]:
        """Queue failed queued invocations again with fresh retries and a fresh maximum
        age: one when `invocation_id` is given, else every failed one of the function."""
        table = self.table
        query = (
            select(table.c.id)
            .where(table.c.function_id == function_id)
            .where(table.c.type == QUEUED)
            .where(table.c.status == STATUS_FAILED)
        )
        if invocation_id is not None:
            query = query.where(table.c.id == invocation_id)
        with self.store._write_lock, self.engine.begin() as conn:
            ids = [row.id for row in conn.execute(query).all()]
            if ids:
                conn.execute(
                    update(table)
                    .where(table.c.id.in_(ids))
                    .values(
                        status=STATUS_QUEUED,
                        status_reason=None,
                        attempts=0,
                        redrive_count=table.c.redrive_count + 1,
                        queued_at=now,
                        next_attempt_at=now,
                        finished_at=None,
                    )
                )
        return ids

    def delete_function(self, function_id: str) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.function_id == function_id))

    def delete_finished_before(self, timestamp: float) -> int:
        table = self.table
        with self.store._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                delete(table)
                .where(table.c.status.in_((STATUS_SUCCEEDED, STATUS_FAILED)))
                .where(table.c.created_at < timestamp)
            )
        return int(result.rowcount)


def encode_cursor(created_at: float, invocation_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at, invocation_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, invocation_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created_at, (int, float)) or not isinstance(invocation_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError) as error:
        raise InvalidParameter(
            f"cursor {cursor!r} is not valid; pass the nextCursor value of the previous page"
        ) from error
    return float(created_at), invocation_id


# Error bodies of synchronous invocations kept for the invocation list; longer ones are cut.
_MAX_SYNC_ERROR_BYTES = 64 * 1024


def sync_row(
    *,
    tenant_id: str,
    function_id: str,
    version: int,
    request_id: str,
    trigger: str,
    started: float,
    duration_ms: float,
    error: bytes | None,
) -> dict[str, Any]:
    """Build the row of a finished synchronous invocation; its result is not kept. A plain
    dict, because this runs on every synchronous invocation."""
    if error is not None and len(error) > _MAX_SYNC_ERROR_BYTES:
        error = orjson.dumps(
            {"errorType": "Error", "errorMessage": "the error was too large to keep", "stackTrace": []}
        )
    return {
        "id": request_id,
        "tenant_id": tenant_id,
        "function_id": function_id,
        "type": SYNC,
        "trigger": trigger,
        "status": STATUS_FAILED if error is not None else STATUS_SUCCEEDED,
        "status_reason": None,
        "payload": None,
        "result": None,
        "error": error,
        "attempts": 1,
        # JSON text, because the batch goes to the driver without SQLAlchemy's JSON type.
        "request_ids": orjson.dumps([request_id]).decode(),
        "version": version,
        "schedule_id": None,
        "redrive_count": 0,
        "created_at": started,
        "queued_at": None,
        "next_attempt_at": None,
        "started_at": started,
        "finished_at": started + duration_ms / 1000,
        "duration_ms": round(duration_ms, 3),
    }
