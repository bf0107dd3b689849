"""The asynchronous create pipeline: store the upload durably, answer 202, then extract,
check and load the handler in its runtime, and mark the function `ready` or `failed`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import orjson

from rocketstack.deploy.archive import MAX_UPLOAD_BYTES, extract
from rocketstack.deploy.handler_file import check_handler_file
from rocketstack.deploy.validation import FunctionConfig
from rocketstack.errors import Conflict, PayloadTooLarge, PreparationError
from rocketstack.runtime.pool import InstancePool
from rocketstack.runtime.runtimes import RuntimeInfo
from rocketstack.runtime.spec import FunctionSpec
from rocketstack.store.blobs import BlobStore, remove_tree
from rocketstack.store.database import Store, new_id
from rocketstack.store.models import FunctionRecord, utc_now

log = logging.getLogger(__name__)

CREATING = "creating"
READY = "ready"
FAILED = "failed"


def spec_for(record: FunctionRecord, code_dir: Path) -> FunctionSpec:
    return FunctionSpec(
        function_id=record.id,
        tenant_id=record.tenant_id,
        name=record.name,
        version=record.version,
        runtime=record.runtime,
        handler=record.handler,
        code_dir=code_dir,
        env=tuple(sorted(record.env.items())),
        memory_mb=record.memory_mb,
        timeout_seconds=record.timeout_seconds,
        reserved_concurrency=record.reserved_concurrency,
    )


class Deployer:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        pool: InstancePool,
        runtimes: dict[str, RuntimeInfo],
        on_change: Callable[[str], None],
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.pool = pool
        self.runtimes = runtimes
        self.on_change = on_change
        self._tasks: set[asyncio.Task[None]] = set()

    def store_upload(self, upload: BinaryIO) -> tuple[str, int]:
        stored = self.blobs.put(upload, MAX_UPLOAD_BYTES)
        if stored is None:
            raise PayloadTooLarge(
                f"code is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; remove files the "
                "function does not need"
            )
        return stored

    async def create(
        self, tenant_id: str, config: FunctionConfig, upload: BinaryIO, request_id: str
    ) -> FunctionRecord:
        """Store the code and the function row durably, then start preparing it."""
        sha, size = await asyncio.to_thread(self.store_upload, upload)
        now = utc_now()
        values = config.fields
        record = FunctionRecord(
            id=new_id("fn"),
            tenant_id=tenant_id,
            name=values["name"],
            runtime=values["runtime"],
            handler=values["handler"],
            memory_mb=values["memoryMb"],
            timeout_seconds=values["timeoutSeconds"],
            env=values["env"],
            reserved_concurrency=values["reservedConcurrency"],
            description=values["description"],
            is_public=values["isPublic"],
            public_method=values.get("publicMethod"),
            status=CREATING,
            status_reason=None,
            last_update_status=None,
            last_update_status_reason=None,
            version=1,
            code_sha256=sha,
            code_size=size,
            created_at=now,
            updated_at=now,
            max_retry_attempts=values["maxRetryAttempts"],
            max_event_age_seconds=values["maxEventAgeSeconds"],
        )
        try:
            self.store.insert_function(record)
        except Conflict:
            if not self.store.code_in_use(sha):
                self.blobs.delete_blob(sha)
            raise
        self.start_preparation(record.id, request_id)
        return record

    def start_preparation(self, function_id: str, request_id: str) -> None:
        task = asyncio.create_task(self.prepare(function_id, request_id), name=f"prepare-{function_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def prepare(self, function_id: str, request_id: str) -> None:
        record = self.store.get_function(function_id)
        if record is None or record.status != CREATING:
            return
        try:
            code_dir = await self.build_code_dir(record)
            outcome = await self.pool.prepare(spec_for(record, code_dir), request_id)
            if not outcome.ok:
                raise PreparationError(_load_reason(outcome.error or {}))
        except PreparationError as error:
            log.info("function %s failed preparation: %s", function_id, error)
            self._finish(function_id, FAILED, str(error))
            return
        except Exception as error:
            log.exception("preparation of function %s failed unexpectedly", function_id)
            self._finish(function_id, FAILED, f"preparation failed unexpectedly ({error}); upload the code again")
            return
        self._finish(function_id, READY, None)

    async def build_code_dir(self, record: FunctionRecord) -> Path:
        """Extract the version's ZIP into its read-only code directory and check its handler."""
        runtime = self.runtimes[record.runtime]
        if not runtime.available:
            raise PreparationError(runtime.unavailable_reason or f"{record.runtime} is unavailable")
        if not self.blobs.has_blob(record.code_sha256):
            raise PreparationError("the uploaded code is no longer stored; upload it again")
        staging = self.blobs.new_staging_dir()
        try:
            await asyncio.to_thread(extract, self.blobs.blob_path(record.code_sha256), staging)
            check_handler_file(staging, record.handler, runtime.extensions)
            return self.blobs.publish(staging, record.id, record.version)
        except BaseException:
            remove_tree(staging)
            raise

    def _finish(self, function_id: str, status: str, reason: str | None) -> None:
        if self.store.get_function(function_id) is None:
            # Deleted while it was being prepared: drop what the preparation published.
            self.blobs.delete_function_code(function_id)
            return
        self.store.update_function(function_id, status=status, status_reason=reason)
        self.on_change(function_id)

    async def recover(self) -> None:
        """Resume preparations that a stop or crash of the server interrupted."""
        for record in self.store.functions_with_status(CREATING):
            if self.blobs.has_blob(record.code_sha256):
                log.info("resuming preparation of function %s", record.id)
                self.start_preparation(record.id, new_id("recover"))
            else:
                self._finish(
                    record.id,
                    FAILED,
                    "the server stopped before the uploaded code was stored; upload it again",
                )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _load_reason(error: dict[str, object]) -> str:
    kind = str(error.get("errorType") or "Error")
    message = str(error.get("errorMessage") or "")
    if kind in ("HandlerNotFound", "HandlerNotCallable", "RuntimeUnavailable"):
        return message
    if kind == "TimeoutError":
        return f"{message}: module-level code took too long; make it faster or raise timeoutSeconds"
    if kind == "OutOfMemoryError":
        return message
    stack = error.get("stackTrace")
    detail = ""
    if isinstance(stack, list) and stack and kind != "SyntaxError":
        detail = " | " + orjson.dumps(stack[-1]).decode().strip('"')
    return f"loading the handler failed with {kind}: {message}{detail}"

