"""JSON shapes of API resources."""

from __future__ import annotations

from typing import Any

from rocketstack.store.models import FunctionRecord, LogRecord, Report, iso_from_epoch


def function_json(record: FunctionRecord, public_url: str | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "runtime": record.runtime,
        "handler": record.handler,
        "memoryMb": record.memory_mb,
        "timeoutSeconds": record.timeout_seconds,
        "env": record.env,
        "reservedConcurrency": record.reserved_concurrency,
        "description": record.description,
        "isPublic": record.is_public,
        "publicMethod": record.public_method if record.is_public else None,
        "publicUrl": public_url,
        "status": record.status,
        "statusReason": record.status_reason,
        "lastUpdateStatus": record.last_update_status,
        "lastUpdateStatusReason": record.last_update_status_reason,
        "version": record.version,
        "maxRetryAttempts": record.max_retry_attempts,
        "maxEventAgeSeconds": record.max_event_age_seconds,
        "codeSha256": record.code_sha256,
        "codeSize": record.code_size,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def log_json(record_id: int, record: LogRecord) -> dict[str, Any]:
    return {
        "id": record_id,
        "timestamp": iso_from_epoch(record.timestamp),
        "requestId": record.request_id,
        "stream": record.stream,
        "message": record.message,
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "timestamp": iso_from_epoch(report.timestamp),
        "requestId": report.request_id,
        "version": report.version,
        "durationMs": report.duration_ms,
        "billedDurationMs": report.billed_duration_ms,
        "initDurationMs": report.init_duration_ms,
        "memorySizeMb": report.memory_size_mb,
        "maxMemoryUsedMb": report.max_memory_used_mb,
        "outcome": report.outcome,
    }
