"""The database: engine set-up, schema creation and every query the platform makes."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, delete, event, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from rocketstack.errors import Conflict, InvalidParameter
from rocketstack.store import schema
from rocketstack.store.models import FunctionRecord, LogRecord, Report, Tenant, utc_now

log = logging.getLogger(__name__)

_FUNCTION_COLUMNS = [c.name for c in schema.functions.columns]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def new_api_key() -> str:
    return "rs_" + secrets.token_urlsafe(32)


class Store:
    """Synchronous access to the database. Calls are short; the records flusher runs
    its bulk inserts in a worker thread, so the engine is shared across threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _create_engine(url)
        self._write_lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Store:
        return cls(f"sqlite:///{data_dir / 'rocketstack.db'}")

    def create_schema(self) -> None:
        """Create missing tables, then add columns that newer versions define to tables an
        older version created. Only additive changes migrate this way."""
        schema.metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        existing = inspect(self.engine)
        with self._write_lock, self.engine.begin() as conn:
            for table in schema.metadata.sorted_tables:
                present = {column["name"] for column in existing.get_columns(table.name)}
                for column in table.columns:
                    if column.name in present:
                        continue
                    column_type = column.type.compile(dialect=self.engine.dialect)
                    clause = f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {column_type}'
                    default = column.default.arg if column.default is not None else None
                    if default is not None and not callable(default):
                        clause += f" DEFAULT {_sql_literal(default)}"
                        if not column.nullable:
                            clause += " NOT NULL"
                    log.info("adding column %s.%s to a database of an older version", table.name, column.name)
                    conn.execute(text(clause))

    def close(self) -> None:
        self.engine.dispose()

    # Tenants and API keys.

    def create_tenant(self, name: str, key: str | None = None) -> tuple[Tenant, str]:
        """Insert a tenant and its first API key (`key`, or a new one); return both, the
        key in clear, which is not stored."""
        tenant = Tenant(
            id=new_id("tn"),
            name=name,
            public_token=secrets.token_hex(8),
            created_at=utc_now(),
        )
        key = key or new_api_key()
        try:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(insert(schema.tenants).values(**asdict(tenant)))
                conn.execute(insert(schema.api_keys).values(**self._key_row(tenant.id, key)))
        except IntegrityError as error:
            raise Conflict(
                f"a tenant named {name!r} already exists; choose another name"
            ) from error
        return tenant, key

    def add_api_key(self, tenant_id: str, key: str | None = None) -> str:
        key = key or new_api_key()
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(insert(schema.api_keys).values(**self._key_row(tenant_id, key)))
        return key

    def revoke_api_key(self, tenant_id: str, prefix: str) -> int:
        with self._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                update(schema.api_keys)
                .where(schema.api_keys.c.tenant_id == tenant_id)
                .where(schema.api_keys.c.prefix == prefix)
                .where(schema.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
        return result.rowcount

    @staticmethod
    def _key_row(tenant_id: str, key: str) -> dict[str, Any]:
        return {
            "id": new_id("key"),
            "tenant_id": tenant_id,
            "key_hash": hash_api_key(key),
            "prefix": key[:10],
            "created_at": utc_now(),
        }

    def tenant_for_key_hash(self, key_hash: str) -> Tenant | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.tenants)
                .join(schema.api_keys, schema.api_keys.c.tenant_id == schema.tenants.c.id)
                .where(schema.api_keys.c.key_hash == key_hash)
                .where(schema.api_keys.c.revoked_at.is_(None))
            ).first()
        return Tenant(**row._mapping) if row else None

    def tenant_by_name(self, name: str) -> Tenant | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.tenants).where(schema.tenants.c.name == name)).first()
        return Tenant(**row._mapping) if row else None

    def tenant_by_token(self, token: str) -> Tenant | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.tenants).where(schema.tenants.c.public_token == token)
            ).first()
        return Tenant(**row._mapping) if row else None

    def tenant_by_id(self, tenant_id: str) -> Tenant | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.tenants).where(schema.tenants.c.id == tenant_id)).first()
        return Tenant(**row._mapping) if row else None

    def count_tenants(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(schema.tenants.c.id)).all())

    # Functions.

    def insert_function(self, record: FunctionRecord) -> None:
        try:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(insert(schema.functions).values(**asdict(record)))
        except IntegrityError as error:
            raise Conflict(
                f"a function named {record.name!r} already exists; choose another name "
                "or update the existing function"
            ) from error

    def update_function(self, function_id: str, **values: Any) -> FunctionRecord | None:
        values.setdefault("updated_at", utc_now())
        try:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(
                    update(schema.functions)
                    .where(schema.functions.c.id == function_id)
                    .values(**values)
                )
        except IntegrityError as error:
            raise Conflict(
                f"a function named {values.get('name')!r} already exists; choose another name"
            ) from error
        return self.get_function(function_id)

    def get_function(self, function_id: str) -> FunctionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.functions).where(schema.functions.c.id == function_id)
            ).first()
        return _function(row) if row else None

    def function_by_name(self, tenant_id: str, name: str) -> FunctionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.functions)
                .where(schema.functions.c.tenant_id == tenant_id)
                .where(schema.functions.c.name == name)
            ).first()
        return _function(row) if row else None

    def list_functions(
        self, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[FunctionRecord], str | None]:
        """List a tenant's functions newest first; the cursor is opaque to clients."""
        table = schema.functions
        query = select(table).where(table.c.tenant_id == tenant_id)
        if cursor:
            created_at, function_id = decode_cursor(cursor)
            query = query.where(
                (table.c.created_at < created_at)
                | ((table.c.created_at == created_at) & (table.c.id < function_id))
            )
        query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        records = [_function(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = records[-1]
            next_cursor = encode_cursor(last.created_at, last.id)
        return records, next_cursor

    def functions_with_status(self, status: str) -> list[FunctionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.functions).where(schema.functions.c.status == status)
            ).all()
        return [_function(row) for row in rows]

    def all_functions(self) -> list[FunctionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.functions)).all()
        return [_function(row) for row in rows]

    def code_in_use(self, code_sha256: str) -> bool:
        """Return whether a function or a kept version still runs this code."""
        versions = schema.function_versions
        with self.engine.connect() as conn:
            row = conn.execute(
                select(schema.functions.c.id).where(schema.functions.c.code_sha256 == code_sha256).limit(1)
            ).first()
            if row is None:
                row = conn.execute(
                    select(versions.c.function_id).where(versions.c.code_sha256 == code_sha256).limit(1)
                ).first()
        return row is not None

    def delete_function(self, function_id: str) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(schema.functions).where(schema.functions.c.id == function_id))
            conn.execute(
                delete(schema.log_records).where(schema.log_records.c.function_id == function_id)
            )
            conn.execute(delete(schema.reports).where(schema.reports.c.function_id == function_id))

    # Logs and reports.

    def insert_records(
        self,
        logs: Sequence[LogRecord],
        reports: Sequence[Report],
        invocations: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Insert a batch of log records, reports and finished synchronous invocations in
        one transaction. The rows go to the driver's executemany as tuples: SQLAlchemy's
        per-row parameter processing held the GIL for milliseconds per batch, which stalled
        the event loop under load."""
        log_fields = [f.name for f in fields(LogRecord)]
        report_fields = [f.name for f in fields(Report)]
        with self._write_lock, self.engine.begin() as conn:
            if logs:
                conn.exec_driver_sql(
                    self._insert_sql("log_records", log_fields),
                    [tuple(getattr(r, name) for name in log_fields) for r in logs],
                )
            if reports:
                conn.exec_driver_sql(
                    self._insert_sql("reports", report_fields),
                    [tuple(getattr(r, name) for name in report_fields) for r in reports],
                )
            if invocations:
                columns = list(invocations[0])
                conn.exec_driver_sql(
                    self._insert_sql("invocations", columns),
                    [tuple(row[name] for name in columns) for row in invocations],
                )

    def _insert_sql(self, table: str, columns: list[str]) -> str:
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join([marker] * len(columns))})"
        )

    def query_logs(
        self,
        function_id: str,
        *,
        request_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after_id: int | None = None,
        limit: int = 1000,
    ) -> list[tuple[int, LogRecord]]:
        table = schema.log_records
        query = select(table).where(table.c.function_id == function_id)
        if request_id:
            query = query.where(table.c.request_id == request_id)
        if since is not None:
            query = query.where(table.c.timestamp >= since)
        if until is not None:
            query = query.where(table.c.timestamp <= until)
        if after_id is not None:
            query = query.where(table.c.id > after_id)
        query = query.order_by(table.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            (
                row.id,
                LogRecord(row.function_id, row.request_id, row.timestamp, row.stream, row.message),
            )
            for row in rows
        ]

    def query_reports(
        self,
        function_id: str,
        *,
        request_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 1000,
    ) -> list[Report]:
        table = schema.reports
        query = select(table).where(table.c.function_id == function_id)
        if request_id:
            query = query.where(table.c.request_id == request_id)
        if since is not None:
            query = query.where(table.c.timestamp >= since)
        if until is not None:
            query = query.where(table.c.timestamp <= until)
        query = query.order_by(table.c.timestamp.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Report(**row._mapping) for row in rows]

    def delete_records_before(self, timestamp: float) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(schema.log_records).where(schema.log_records.c.timestamp < timestamp))
            conn.execute(delete(schema.reports).where(schema.reports.c.timestamp < timestamp))


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def encode_cursor(created_at: str, function_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at, function_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, function_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created_at, str) or not isinstance(function_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError) as error:
        raise InvalidParameter(
            f"cursor {cursor!r} is not valid; pass the nextCursor value of the previous page"
        ) from error
    return created_at, function_id


def _function(row: Any) -> FunctionRecord:
    return FunctionRecord(**{name: row._mapping[name] for name in _FUNCTION_COLUMNS})


def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the records flusher; NORMAL syncs at checkpoints,
        # which in WAL mode cannot corrupt the database on a crash.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine

