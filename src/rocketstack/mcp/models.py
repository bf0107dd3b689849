"""Structured results of the MCP tools; field names follow the control-plane API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from rocketstack import client


class FunctionSummary(BaseModel):
    id: str
    name: str
    runtime: str
    handler: str
    status: str = Field(description="creating, ready or failed")
    statusReason: str | None = Field(None, description="Why the function failed, when it did")
    version: int | None = None
    isPublic: bool = False
    publicUrl: str | None = Field(None, description="The public URL, when the function is public")
    updatedAt: str | None = None


class FunctionDetails(FunctionSummary):
    memoryMb: int | None = None
    timeoutSeconds: int | None = None
    env: dict[str, str] = Field(default_factory=dict)
    reservedConcurrency: int | None = Field(
        None, description="0 = paused, 1-100 = concurrency cap, null = unreserved"
    )
    description: str | None = None
    publicMethod: str | None = None
    lastUpdateStatus: str | None = Field(
        None, description="Outcome of the latest update: InProgress, Successful or Failed"
    )
    lastUpdateStatusReason: str | None = None
    maxRetryAttempts: int | None = Field(None, description="Retries of a failed queued invocation")
    maxEventAgeSeconds: int | None = Field(
        None, description="Seconds a queued invocation may wait before it is dropped"
    )
    codeSha256: str | None = None
    codeSize: int | None = None
    createdAt: str | None = None


class DeployResult(FunctionDetails):
    action: Literal["created", "updated", "unchanged"] = Field(
        description="created, updated, or unchanged when the code and settings were already "
        "deployed (then nothing was uploaded and no new version was made)"
    )
    waited: bool = Field(description="Whether the call waited until the deploy finished")
    bundledFiles: list[str] = Field(
        default_factory=list, description="Paths inside the uploaded ZIP (at most 200 listed)"
    )


class FunctionList(BaseModel):
    functions: list[FunctionSummary]
    nextCursor: str | None = Field(
        None, description="Pass as cursor to get the next page; null on the last page"
    )


class DeleteResult(BaseModel):
    id: str
    name: str
    deleted: bool


class LogLine(BaseModel):
    timestamp: str
    requestId: str | None = None
    stream: str = Field(description="stdout or stderr of the handler, or system for the platform's own lines")
    message: str


class InvocationReport(BaseModel):
    timestamp: str
    requestId: str
    version: int | None = None
    durationMs: float | None = None
    billedDurationMs: float | None = None
    initDurationMs: float | None = Field(None, description="Set when the invocation was a cold start")
    memorySizeMb: int | None = None
    maxMemoryUsedMb: float | None = None
    outcome: str


class FunctionError(BaseModel):
    errorType: str
    errorMessage: str
    stackTrace: list[str] = Field(default_factory=list)


class InvokeResult(BaseModel):
    functionId: str
    functionName: str
    requestId: str | None = Field(None, description="Use with get_function_logs to read this invocation's logs again")
    statusCode: int = Field(description="HTTP status of the invoke call: 200 success, 500 handler error, 504 timeout")
    outcome: str = Field(description="success, error, timeout or outOfMemory")
    result: Any = Field(None, description="The handler's return value, on success")
    error: FunctionError | None = Field(None, description="The handler's error, when it failed")
    durationMs: float | None = None
    initDurationMs: float | None = None
    maxMemoryUsedMb: float | None = None
    logs: list[LogLine] = Field(default_factory=list, description="Log lines this invocation wrote")


class LogsResult(BaseModel):
    functionId: str
    functionName: str
    logs: list[LogLine]
    reports: list[InvocationReport] = Field(
        description="One record per invocation: duration, memory used and outcome"
    )


def log_line(line: client.LogLine) -> LogLine:
    return LogLine(
        timestamp=line.timestamp, requestId=line.request_id, stream=line.stream, message=line.message
    )


def invocation_report(report: client.Report) -> InvocationReport:
    return InvocationReport(
        timestamp=report.timestamp,
        requestId=report.request_id,
        version=report.version,
        durationMs=report.duration_ms,
        billedDurationMs=report.billed_duration_ms,
        initDurationMs=report.init_duration_ms,
        memorySizeMb=report.memory_size_mb,
        maxMemoryUsedMb=report.max_memory_used_mb,
        outcome=report.outcome or "unknown",
    )
