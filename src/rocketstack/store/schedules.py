"""Schedules of functions, and the firing of a due schedule: its queued invocation and its
next run time are written in one transaction, so a crash neither loses nor repeats a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from rocketstack.store import schema
from rocketstack.store.database import Store
from rocketstack.store.invocations import InvocationRecord
from rocketstack.store.models import utc_now


@dataclass
class ScheduleRecord:
    id: str
    tenant_id: str
    function_id: str
    expression: str
    # The event each run sends, as JSON bytes.
    payload: bytes
    enabled: bool
    description: str
    next_run_at: float | None
    last_run_at: float | None
    last_invocation_id: str | None
    created_at: str
    updated_at: str


class ScheduleStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self.table = schema.schedules

    def insert(self, record: ScheduleRecord) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(insert(self.table).values(**asdict(record)))

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.id == schedule_id)).first()
        return ScheduleRecord(**row._mapping) if row else None

    def list_for_function(self, function_id: str) -> list[ScheduleRecord]:
        table = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.function_id == function_id)
                .order_by(table.c.created_at, table.c.id)
            ).all()
        return [ScheduleRecord(**row._mapping) for row in rows]

    def list_for_tenant(self, tenant_id: str) -> list[ScheduleRecord]:
        table = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id)
                .order_by(table.c.created_at, table.c.id)
            ).all()
        return [ScheduleRecord(**row._mapping) for row in rows]

    def count_for_function(self, function_id: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.count())
                .select_from(self.table)
                .where(self.table.c.function_id == function_id)
            ).scalar()
        return int(value or 0)

    def update(self, schedule_id: str, **values: Any) -> ScheduleRecord | None:
        values.setdefault("updated_at", utc_now())
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(update(self.table).where(self.table.c.id == schedule_id).values(**values))
        return self.get(schedule_id)

    def delete(self, schedule_id: str) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == schedule_id))

    def delete_function(self, function_id: str) -> None:
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.function_id == function_id))

    def due(self, now: float) -> list[ScheduleRecord]:
        table = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.enabled.is_(True))
                .where(table.c.next_run_at <= now)
                .order_by(table.c.next_run_at)
            ).all()
        return [ScheduleRecord(**row._mapping) for row in rows]

    def fire(
        self,
        schedule: ScheduleRecord,
        invocation: InvocationRecord,
        ran_at: float,
        next_run_at: float | None,
    ) -> bool:
        """Queue a due run and move the schedule to its next run; False when the schedule
        changed since it was read (deleted, disabled or moved), so nothing was queued."""
        table = self.table
        with self.store._write_lock, self.engine.begin() as conn:
            moved = conn.execute(
                update(table)
                .where(table.c.id == schedule.id)
                .where(table.c.next_run_at == schedule.next_run_at)
                .where(table.c.enabled.is_(True))
                .values(
                    last_run_at=ran_at,
                    next_run_at=next_run_at,
                    last_invocation_id=invocation.id,
                )
            )
            if moved.rowcount != 1:
                return False
            conn.execute(insert(schema.invocations).values(**invocation.row()))
        return True

    def record_manual_run(
        self, schedule_id: str, invocation: InvocationRecord, ran_at: float
    ) -> None:
        """Queue a run requested now, leaving the next scheduled run where it is."""
        with self.store._write_lock, self.engine.begin() as conn:
            conn.execute(insert(schema.invocations).values(**invocation.row()))
            conn.execute(
                update(self.table)
                .where(self.table.c.id == schedule_id)
                .values(last_run_at=ran_at, last_invocation_id=invocation.id)
            )
