"""Queries on a tenant's API keys: create, list and revoke by id or prefix."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from rocketstack.store import schema
from rocketstack.store.database import Store, new_api_key
from rocketstack.store.models import utc_now


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key without its secret: only the hash is stored, and the first characters."""

    id: str
    prefix: str
    created_at: str
    revoked_at: str | None


def create_api_key(store: Store, tenant_id: str) -> tuple[ApiKeyRecord, str]:
    """Insert a new key for the tenant; return its record and the key in clear."""
    key = new_api_key()
    row = store._key_row(tenant_id, key)
    with store._write_lock, store.engine.begin() as conn:
        conn.execute(insert(schema.api_keys).values(**row))
    return ApiKeyRecord(row["id"], row["prefix"], row["created_at"], None), key


def list_api_keys(store: Store, tenant_id: str) -> list[ApiKeyRecord]:
    """Return the tenant's keys, oldest first, revoked ones included."""
    table = schema.api_keys
    query = (
        select(table.c.id, table.c.prefix, table.c.created_at, table.c.revoked_at)
        .where(table.c.tenant_id == tenant_id)
        .order_by(table.c.created_at, table.c.id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [ApiKeyRecord(*row) for row in rows]


def find_api_key(store: Store, tenant_id: str, id_or_prefix: str) -> list[ApiKeyRecord]:
    """Return the tenant's keys whose id or prefix is `id_or_prefix`."""
    return [
        record
        for record in list_api_keys(store, tenant_id)
        if id_or_prefix in (record.id, record.prefix)
    ]


def count_active_keys(store: Store, tenant_id: str) -> int:
    table = schema.api_keys
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.tenant_id == tenant_id)
        .where(table.c.revoked_at.is_(None))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def revoke_api_key_by_id(store: Store, tenant_id: str, key_id: str) -> str | None:
    """Mark the key revoked now; return the revocation time, or None if it was not active."""
    table = schema.api_keys
    now = utc_now()
    with store._write_lock, store.engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.tenant_id == tenant_id)
            .where(table.c.id == key_id)
            .where(table.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return now if result.rowcount else None
