"""Table definitions shared by SQLite (single node) and PostgreSQL (cluster)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("public_token", String(40), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    # SHA-256 of the key: keys are random 256-bit secrets, so a fast hash is enough.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)

functions = Table(
    "functions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("runtime", String(32), nullable=False),
    Column("handler", String(128), nullable=False),
    Column("memory_mb", Integer, nullable=False),
    Column("timeout_seconds", Integer, nullable=False),
    Column("env", JSON, nullable=False),
    Column("reserved_concurrency", Integer, nullable=True),
    Column("description", String(256), nullable=False, default=""),
    Column("is_public", Boolean, nullable=False, default=False),
    Column("public_method", String(8), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("last_update_status", String(16), nullable=True),
    Column("last_update_status_reason", Text, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("max_retry_attempts", Integer, nullable=False, default=2),
    Column("max_event_age_seconds", Integer, nullable=False, default=21600),
    Column("code_sha256", String(64), nullable=False),
    Column("code_size", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_functions_tenant_name"),
    Index("ix_functions_tenant_created", "tenant_id", "created_at", "id"),
)

log_records = Table(
    "log_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("function_id", String(40), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("stream", String(8), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_log_records_function_time", "function_id", "timestamp"),
    Index("ix_log_records_request", "request_id"),
)

reports = Table(
    "reports",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("function_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("billed_duration_ms", Integer, nullable=False),
    Column("init_duration_ms", Float, nullable=True),
    Column("memory_size_mb", Integer, nullable=False),
    Column("max_memory_used_mb", Integer, nullable=True),
    Column("outcome", String(16), nullable=False),
    Index("ix_reports_function_time", "function_id", "timestamp"),
)

# One row per successful create or update: the code and the configuration a version runs
# with. Rows never change; a rollback copies one into a new version.
function_versions = Table(
    "function_versions",
    metadata,
    Column("function_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("code_sha256", String(64), nullable=False),
    Column("code_size", BigInteger, nullable=False),
    Column("runtime", String(32), nullable=False),
    Column("handler", String(128), nullable=False),
    Column("memory_mb", Integer, nullable=False),
    Column("timeout_seconds", Integer, nullable=False),
    Column("env", JSON, nullable=False),
    Column("description", String(256), nullable=False, default=""),
    Column("source", String(16), nullable=False),
    Column("rolled_back_from", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Index("ix_function_versions_sha", "code_sha256"),
)

# Every invocation: queued ones are written before their 202 and updated per attempt;
# synchronous ones arrive in batches from the records buffer once they finish.
invocations = Table(
    "invocations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("function_id", String(40), nullable=False),
    Column("type", String(8), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("result", LargeBinary, nullable=True),
    Column("error", LargeBinary, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("request_ids", JSON, nullable=False),
    Column("version", Integer, nullable=True),
    Column("schedule_id", String(40), nullable=True),
    Column("redrive_count", Integer, nullable=False, default=0),
    # Epoch seconds; queued_at restarts the maximum-age clock on a re-drive.
    Column("created_at", Float, nullable=False),
    Column("queued_at", Float, nullable=True),
    Column("next_attempt_at", Float, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Index("ix_invocations_function_created", "function_id", "created_at"),
    Index("ix_invocations_pending", "status", "next_attempt_at"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("function_id", String(40), nullable=False),
    Column("expression", String(128), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("description", String(256), nullable=False, default=""),
    # Epoch seconds of the schedule clock; null while disabled.
    Column("next_run_at", Float, nullable=True),
    Column("last_run_at", Float, nullable=True),
    Column("last_invocation_id", String(64), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("ix_schedules_function", "function_id"),
    Index("ix_schedules_due", "enabled", "next_run_at"),
)
