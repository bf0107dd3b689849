"""Saved test events of the Console's Test tab: named JSON events kept per function."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)

from rocketstack.store.models import utc_now

# Kept apart from schema.metadata so the table is created by the Console that uses it.
metadata = MetaData()

saved_events = Table(
    "saved_events",
    metadata,
    Column("function_id", String(40), nullable=False),
    Column("name", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    UniqueConstraint("function_id", "name", name="uq_saved_events_function_name"),
    Index("ix_saved_events_function", "function_id"),
)


@dataclass(frozen=True)
class SavedEvent:

    function_id: str
    name: str
    body: str
    created_at: str
    updated_at: str


class SavedEventStore:

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock()

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def list(self, function_id: str) -> list[SavedEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(saved_events)
                .where(saved_events.c.function_id == function_id)
                .order_by(saved_events.c.name)
            ).all()
        return [SavedEvent(**row._mapping) for row in rows]

    def get(self, function_id: str, name: str) -> SavedEvent | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(saved_events)
                .where(saved_events.c.function_id == function_id)
                .where(saved_events.c.name == name)
            ).first()
        return SavedEvent(**row._mapping) if row else None

    def save(self, function_id: str, name: str, body: str) -> None:
        """Insert the event, or replace the body of the one with the same name."""
        now = utc_now()
        with self._write_lock, self.engine.begin() as conn:
            changed = conn.execute(
                update(saved_events)
                .where(saved_events.c.function_id == function_id)
                .where(saved_events.c.name == name)
                .values(body=body, updated_at=now)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(saved_events).values(
                        function_id=function_id, name=name, body=body, created_at=now, updated_at=now
                    )
                )

    def delete(self, function_id: str, name: str | None = None) -> None:
        """Delete one saved event, or all of the function's events when `name` is None."""
        query = delete(saved_events).where(saved_events.c.function_id == function_id)
        if name is not None:
            query = query.where(saved_events.c.name == name)
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(query)
