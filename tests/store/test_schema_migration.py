"""A database made by an older version gains the columns a newer version defines."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, inspect, text

from rocketstack.store import schema
from rocketstack.store.database import Store

NEW_COLUMNS = ("max_retry_attempts", "max_event_age_seconds")


def test_old_functions_table_gains_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = MetaData()
    Table(
        "functions",
        old,
        *[column._copy() for column in schema.functions.columns if column.name not in NEW_COLUMNS],
    )
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO functions (id, tenant_id, name, runtime, handler, memory_mb, "
                "timeout_seconds, env, description, is_public, status, version, code_sha256, "
                "code_size, created_at, updated_at) VALUES ('fn_1', 'tn_1', 'old', 'python3.12', "
                "'handler.handler', 256, 10, '{}', '', 0, 'ready', 1, 'abc', 1, 'now', 'now')"
            )
        )
    engine.dispose()

    store = Store(url)
    store.create_schema()
    columns = {column["name"] for column in inspect(store.engine).get_columns("functions")}
    assert set(NEW_COLUMNS) <= columns
    record = store.get_function("fn_1")
    assert record is not None
    assert record.max_retry_attempts == 2
    assert record.max_event_age_seconds == 21600
    # A second start finds nothing to add.
    store.create_schema()
    store.close()
