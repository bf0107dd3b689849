"""Function operations shared by the API, the gateway, the Console and the MCP server:
lookups (cached in memory, invalidated on every change), deletion and invocation."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rocketstack.deploy.pipeline import READY, Deployer, spec_for
from rocketstack.errors import FunctionNotReady, NotFound, Throttled
from rocketstack.runtime.instance import Outcome
from rocketstack.runtime.pool import InstancePool, InvocationResult
from rocketstack.runtime.spec import FunctionSpec
from rocketstack.settings import Settings
from rocketstack.store.blobs import BlobStore
from rocketstack.store.database import Store
from rocketstack.store.invocations import sync_row
from rocketstack.store.models import FunctionRecord, Tenant

log = logging.getLogger(__name__)


class FunctionService:
    def __init__(self, settings: Settings, store: Store, blobs: BlobStore, pool: InstancePool) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.pool = pool
        self.deployer: Deployer | None = None
        self._by_id: dict[str, FunctionRecord] = {}
        self._by_public: dict[tuple[str, str], str] = {}
        # The reverse of _by_public, so invalidating one function is not a scan of all.
        self._public_key: dict[str, tuple[str, str]] = {}
        self._specs: dict[str, FunctionSpec] = {}
        self._tenants_by_token: dict[str, Tenant] = {}
        # Called with each deleted function, after its row is gone and before its code is.
        self.on_delete: list[Callable[[FunctionRecord], None]] = []

    def invalidate(self, function_id: str) -> None:
        self._by_id.pop(function_id, None)
        self._specs.pop(function_id, None)
        key = self._public_key.pop(function_id, None)
        if key is not None and self._by_public.get(key) == function_id:
            del self._by_public[key]

    def get(self, tenant_id: str, function_id: str) -> FunctionRecord:
        """Return the tenant's function or raise NotFound; another tenant's id is not found."""
        record = self._by_id.get(function_id)
        if record is None:
            record = self.store.get_function(function_id)
            if record is not None:
                self._by_id[function_id] = record
        if record is None or record.tenant_id != tenant_id:
            raise NotFound(
                f"function {function_id!r} was not found; list your functions with GET /v1/functions"
            )
        return record

    def public_url(self, tenant: Tenant, record: FunctionRecord) -> str | None:
        if not record.is_public:
            return None
        return f"{self.settings.public_base_url}/{tenant.public_token}/{record.name}"

    def public_lookup(self, token: str, name: str) -> FunctionRecord | None:
        function_id = self._by_public.get((token, name))
        if function_id is not None:
            record = self._by_id.get(function_id)
            if record is not None:
                return record
        tenant = self._tenants_by_token.get(token)
        if tenant is None:
            tenant = self.store.tenant_by_token(token)
            if tenant is None:
                return None
            self._tenants_by_token[token] = tenant
        record = self.store.function_by_name(tenant.id, name)
        if record is None:
            return None
        self._by_id[record.id] = record
        self._by_public[(token, name)] = record.id
        self._public_key[record.id] = (token, name)
        return record

    def spec(self, record: FunctionRecord) -> FunctionSpec:
        spec = self._specs.get(record.id)
        if spec is None or spec.version != record.version:
            spec = spec_for(record, self.blobs.code_dir(record.id, record.version))
            self._specs[record.id] = spec
        return spec

    def ready_spec(self, record: FunctionRecord) -> FunctionSpec:
        if record.status != READY:
            detail = f": {record.status_reason}" if record.status_reason else ""
            raise FunctionNotReady(
                f"function {record.name!r} is {record.status}{detail}; "
                + (
                    "wait until GET /v1/functions/{id} shows status ready"
                    if record.status == "creating"
                    else "fix the code and create it again"
                ),
            )
        return self.spec(record)

    async def invoke(self, record: FunctionRecord, request_id: str, event: bytes) -> InvocationResult:
        return await self.invoke_spec(self.ready_spec(record), request_id, event)

    async def invoke_spec(
        self, spec: FunctionSpec, request_id: str, event: bytes, trigger: str = "api"
    ) -> InvocationResult:
        """Run a synchronous invocation; `trigger` ("api" or "public") is listed with it."""
        started = time.time()
        try:
            result = await self.pool.invoke(spec, request_id, event)
        except Throttled:
            self.pool.record_throttle(spec, request_id)
            raise
        self.pool.records.add_invocation(
            sync_row(
                tenant_id=spec.tenant_id,
                function_id=spec.function_id,
                version=spec.version,
                request_id=request_id,
                trigger=trigger,
                started=started,
                duration_ms=result.duration_ms,
                error=None if result.outcome is Outcome.SUCCESS else result.body,
            )
        )
        return result

    async def delete(self, record: FunctionRecord) -> None:
        self.pool.retire(record.id)
        self.store.delete_function(record.id)
        for hook in self.on_delete:
            hook(record)
        self.invalidate(record.id)
        self.blobs.delete_function_code(record.id)
        if not self.store.code_in_use(record.code_sha256):
            self.blobs.delete_blob(record.code_sha256)
