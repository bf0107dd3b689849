"""The asynchronous update and rollback pipeline. The running version keeps serving while
the new one is extracted, checked and loaded. Then one transaction records the new version
and points the function at it, and the old version's instances drain. A failed update
leaves the function as it was, with lastUpdateStatus Failed and the reason."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, BinaryIO

from rocketstack.deploy.pipeline import CREATING, READY, Deployer, _load_reason, spec_for
from rocketstack.deploy.validation import FunctionConfig
from rocketstack.errors import (
    Conflict,
    FunctionNotReady,
    InvalidParameter,
    NotFound,
    PreparationError,
)
from rocketstack.runtime.pool import InstancePool
from rocketstack.service import FunctionService
from rocketstack.store.blobs import BlobStore, remove_tree
from rocketstack.store.database import Store
from rocketstack.store.models import FunctionRecord
from rocketstack.store.versions import VersionStore, version_of

log = logging.getLogger(__name__)

IN_PROGRESS = "InProgress"
SUCCESSFUL = "Successful"
FAILED = "Failed"

# API field name -> functions column.
_COLUMNS = {
    "name": "name",
    "runtime": "runtime",
    "handler": "handler",
    "memoryMb": "memory_mb",
    "timeoutSeconds": "timeout_seconds",
    "env": "env",
    "reservedConcurrency": "reserved_concurrency",
    "description": "description",
    "isPublic": "is_public",
    "publicMethod": "public_method",
    "maxRetryAttempts": "max_retry_attempts",
    "maxEventAgeSeconds": "max_event_age_seconds",
}
# Columns that belong to the function rather than to a version: changing only these takes
# effect at once and records no version.
_FUNCTION_LEVEL = {
    "name",
    "is_public",
    "public_method",
    "reserved_concurrency",
    "max_retry_attempts",
    "max_event_age_seconds",
}


class Updater:
    def __init__(
        self,
        store: Store,
        versions: VersionStore,
        blobs: BlobStore,
        pool: InstancePool,
        deployer: Deployer,
        functions: FunctionService,
    ) -> None:
        self.store = store
        self.versions = versions
        self.blobs = blobs
        self.pool = pool
        self.deployer = deployer
        self.functions = functions
        # Functions with an update under way on this node.
        self._busy: set[str] = set()
        # Version numbers whose prepared instances were retired after a failed switch; the
        # pool never runs a retired number again, so later updates skip past it.
        self._burned: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # Versions of creates.

    def record_created(self, function_id: str) -> None:
        """Record the first version of a function whose create finished."""
        record = self.store.get_function(function_id)
        if record is not None:
            self.ensure_current_version(record)

    def ensure_current_version(self, record: FunctionRecord) -> None:
        if record.status == READY and self.versions.get(record.id, record.version) is None:
            self.versions.insert(version_of(record, "create" if record.version == 1 else "update"))

    # Starting updates and rollbacks.

    async def update(
        self,
        record: FunctionRecord,
        config: FunctionConfig,
        upload: BinaryIO | None,
        request_id: str,
    ) -> FunctionRecord:
        """Validate an update against the function, store new code durably, and start applying
        the update in the background; return the function marked InProgress."""
        if not config.fields and upload is None:
            raise InvalidParameter(
                "the update changes nothing; send new code (-F code=@dist.zip) or at least one "
                f"field: {', '.join(_COLUMNS)}"
            )
        self._check_can_change(record)
        changes = {_COLUMNS[name]: value for name, value in config.fields.items()}
        new_name = changes.get("name", record.name)
        if new_name != record.name and self.store.function_by_name(record.tenant_id, new_name):
            raise Conflict(f"a function named {new_name!r} already exists; choose another name")
        version_changes = [
            column
            for column, value in changes.items()
            if column not in _FUNCTION_LEVEL and getattr(record, column) != value
        ]
        if upload is None and not version_changes:
            function_level = {k: v for k, v in changes.items() if k in _FUNCTION_LEVEL}
            return self._apply_function_level(record, function_level)
        self._busy.add(record.id)
        try:
            if upload is not None:
                sha, size = await asyncio.to_thread(self.deployer.store_upload, upload)
                changes["code_sha256"] = sha
                changes["code_size"] = size
            return self._start(record, changes, "update", None, request_id)
        except BaseException:
            self._busy.discard(record.id)
            raise

    def _apply_function_level(self, record: FunctionRecord, changes: dict[str, Any]) -> FunctionRecord:
        if changes.get("is_public") and not changes.get("public_method", record.public_method):
            changes["public_method"] = "POST"
        updated = self.store.update_function(
            record.id, **changes, last_update_status=SUCCESSFUL, last_update_status_reason=None
        )
        self.functions.invalidate(record.id)
        if changes.get("name", record.name) != record.name:
            # Instances see the function's name in their context and environment.
            self.pool.retire(record.id)
        return updated or record

    def rollback(self, record: FunctionRecord, version: int, request_id: str) -> FunctionRecord:
        """Make a kept version's code and configuration current again, as a new version."""
        self._check_can_change(record)
        self.ensure_current_version(record)
        target = self.versions.get(record.id, version)
        if target is None:
            raise NotFound(
                f"function {record.name!r} has no version {version}; list its versions with "
                f"GET /v1/functions/{record.id}/versions"
            )
        if not self.blobs.has_blob(target.code_sha256):
            raise Conflict(f"the code of version {version} is no longer stored; deploy it again")
        self._busy.add(record.id)
        try:
            return self._start(record, target.config(), "rollback", version, request_id)
        except BaseException:
            self._busy.discard(record.id)
            raise

    def _check_can_change(self, record: FunctionRecord) -> None:
        if record.status == CREATING:
            raise FunctionNotReady(
                f"function {record.name!r} is still being created; wait until GET "
                f"/v1/functions/{record.id} shows status ready, then update it"
            )
        if record.id in self._busy:
            raise Conflict(
                f"an update of function {record.name!r} is in progress; wait until "
                "lastUpdateStatus is Successful or Failed, then send yours"
            )

    def _start(
        self,
        record: FunctionRecord,
        changes: dict[str, Any],
        source: str,
        rolled_back_from: int | None,
        request_id: str,
    ) -> FunctionRecord:
        self.ensure_current_version(record)
        updated = self.store.update_function(
            record.id, last_update_status=IN_PROGRESS, last_update_status_reason=None
        )
        self.functions.invalidate(record.id)
        task = asyncio.create_task(
            self._apply(record.id, changes, source, rolled_back_from, request_id),
            name=f"update-{record.id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return updated or record

    # Applying them.

    async def _apply(
        self,
        function_id: str,
        changes: dict[str, Any],
        source: str,
        rolled_back_from: int | None,
        request_id: str,
    ) -> None:
        try:
            number = await self._prepare_and_switch(
                function_id, changes, source, rolled_back_from, request_id
            )
        except PreparationError as error:
            log.info("update of function %s failed: %s", function_id, error)
            self._fail(function_id, str(error), changes)
        except Conflict as error:
            log.info("update of function %s failed: %s", function_id, error.message)
            self._fail(function_id, error.message, changes)
        except asyncio.CancelledError:
            # The server is stopping; the next start marks the update failed.
            raise
        except Exception as error:
            log.exception("update of function %s failed unexpectedly", function_id)
            self._fail(
                function_id, f"the update failed unexpectedly ({error}); send it again", changes
            )
        else:
            if number is None:
                # The function was deleted meanwhile.
                self._drop_unused_code(changes)
            else:
                self.functions.invalidate(function_id)
                self.pool.retire(function_id, keep_key=f"{function_id}:{number}")
                log.info("function %s now runs version %d", function_id, number)
        finally:
            self._busy.discard(function_id)

    async def _prepare_and_switch(
        self,
        function_id: str,
        changes: dict[str, Any],
        source: str,
        rolled_back_from: int | None,
        request_id: str,
    ) -> int | None:
        """Build and load the new version, then switch to it; return its number, or None
        when the function was deleted meanwhile."""
        current = self.store.get_function(function_id)
        if current is None:
            return None
        number = 1 + max(
            self.versions.max_version(function_id),
            current.version if current.status == READY else 0,
            self._burned.get(function_id, 0),
        )
        values = dict(changes)
        if values.get("is_public") and not values.get("public_method", current.public_method):
            values["public_method"] = "POST"
        candidate = replace(current, **values, version=number)

        code_dir = await self.deployer.build_code_dir(candidate)
        prepared = False
        try:
            outcome = await self.pool.prepare(spec_for(candidate, code_dir), request_id)
            if not outcome.ok:
                raise PreparationError(_load_reason(outcome.error or {}))
            prepared = True

            if self.store.get_function(function_id) is None:
                self.pool.retire(function_id)
                remove_tree(code_dir)
                return None
            self.versions.switch(
                candidate,
                version_of(candidate, source, rolled_back_from),
                {
                    **values,
                    "version": number,
                    "status": READY,
                    "status_reason": None,
                    "last_update_status": SUCCESSFUL,
                    "last_update_status_reason": None,
                },
            )
        except BaseException:
            if prepared:
                self.pool.retire(function_id, keep_key=f"{function_id}:{current.version}")
                self._burned[function_id] = number
            remove_tree(code_dir)
            raise
        return number

    def _fail(self, function_id: str, reason: str, changes: dict[str, Any]) -> None:
        if self.store.get_function(function_id) is not None:
            self.store.update_function(
                function_id, last_update_status=FAILED, last_update_status_reason=reason
            )
            self.functions.invalidate(function_id)
        self._drop_unused_code(changes)

    def _drop_unused_code(self, changes: dict[str, Any]) -> None:
        """Delete the code an update uploaded when no function or version runs it."""
        sha = changes.get("code_sha256")
        if sha and not self.store.code_in_use(sha):
            self.blobs.delete_blob(sha)

    # Start, stop and deletion.

    def recover(self) -> None:
        """Mark updates that a stop or crash of the server interrupted as failed."""
        for record in self.store.all_functions():
            if record.last_update_status == IN_PROGRESS:
                log.info("update of function %s was interrupted by a server stop", record.id)
                self.store.update_function(
                    record.id,
                    last_update_status=FAILED,
                    last_update_status_reason="the server stopped during the update; send it again",
                )
            self.ensure_current_version(record)

    def forget(self, record: FunctionRecord) -> None:
        """Delete a deleted function's versions and the code only they referenced."""
        for sha in self.versions.delete_function(record.id) - {record.code_sha256}:
            if not self.store.code_in_use(sha):
                self.blobs.delete_blob(sha)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
