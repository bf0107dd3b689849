"""Function versions: the immutable code and configuration of each successful create or
update, and the switch of a function to a new version in one transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from rocketstack.errors import Conflict
from rocketstack.store import schema
from rocketstack.store.database import Store
from rocketstack.store.models import FunctionRecord, utc_now

# The columns a version fixes; a rollback makes them current again. The function's name,
# public URL, concurrency and queue settings belong to the function, not to a version.
VERSION_FIELDS = (
    "code_sha256",
    "code_size",
    "runtime",
    "handler",
    "memory_mb",
    "timeout_seconds",
    "env",
    "description",
)


@dataclass(frozen=True)
class VersionRecord:
    function_id: str
    version: int
    code_sha256: str
    code_size: int
    runtime: str
    handler: str
    memory_mb: int
    timeout_seconds: int
    env: dict[str, str]
    description: str
    # "create", "update" or "rollback".
    source: str
    rolled_back_from: int | None
    created_at: str

    def config(self) -> dict[str, Any]:
        """Return the function columns this version sets."""
        return {name: getattr(self, name) for name in VERSION_FIELDS}


def version_of(
    record: FunctionRecord, source: str, rolled_back_from: int | None = None
) -> VersionRecord:
    return VersionRecord(
        function_id=record.id,
        version=record.version,
        code_sha256=record.code_sha256,
        code_size=record.code_size,
        runtime=record.runtime,
        handler=record.handler,
        memory_mb=record.memory_mb,
        timeout_seconds=record.timeout_seconds,
        env=record.env,
        description=record.description,
        source=source,
        rolled_back_from=rolled_back_from,
        created_at=utc_now(),
    )


class VersionStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def insert(self, version: VersionRecord) -> None:
        """Insert a version row unless one with its number exists already."""
        try:
            with self.store._write_lock, self.engine.begin() as conn:
                conn.execute(insert(schema.function_versions).values(**asdict(version)))
        except IntegrityError:
            pass

    def list_versions(self, function_id: str) -> list[VersionRecord]:
        table = schema.function_versions
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.function_id == function_id)
                .order_by(table.c.version.desc())
            ).all()
        return [VersionRecord(**row._mapping) for row in rows]

    def get(self, function_id: str, version: int) -> VersionRecord | None:
        table = schema.function_versions
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table)
                .where(table.c.function_id == function_id)
                .where(table.c.version == version)
            ).first()
        return VersionRecord(**row._mapping) if row else None

    def max_version(self, function_id: str) -> int:
        table = schema.function_versions
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(table.c.version)).where(table.c.function_id == function_id)
            ).scalar()
        return int(value or 0)

    def switch(
        self, candidate: FunctionRecord, version: VersionRecord, values: dict[str, Any]
    ) -> None:
        """Insert `version` and make the function row run it, in one transaction; raise
        Conflict when the new name is taken."""
        try:
            with self.store._write_lock, self.engine.begin() as conn:
                conn.execute(insert(schema.function_versions).values(**asdict(version)))
                conn.execute(
                    update(schema.functions)
                    .where(schema.functions.c.id == candidate.id)
                    .values(**values, updated_at=utc_now())
                )
        except IntegrityError as error:
            raise Conflict(
                f"the name {candidate.name!r} was taken by another function during the update; "
                "choose another name"
            ) from error

    def delete_function(self, function_id: str) -> set[str]:
        """Delete a function's versions; return the code hashes they referenced."""
        table = schema.function_versions
        with self.store._write_lock, self.engine.begin() as conn:
            hashes = {
                row.code_sha256
                for row in conn.execute(
                    select(table.c.code_sha256).where(table.c.function_id == function_id)
                ).all()
            }
            conn.execute(delete(table).where(table.c.function_id == function_id))
        return hashes
