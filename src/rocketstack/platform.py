"""Builds the parts of a server from its settings and starts and stops them in order."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from rocketstack.deploy.pipeline import Deployer
from rocketstack.deploy.updates import Updater
from rocketstack.runtime import runtimes as runtime_discovery
from rocketstack.runtime.pool import InstancePool
from rocketstack.sandbox.base import Sandbox
from rocketstack.sandbox.select import make_sandbox as select_sandbox
from rocketstack.scheduler.clock import make_clock
from rocketstack.scheduler.queue import EventQueue
from rocketstack.scheduler.schedules import Scheduler
from rocketstack.service import FunctionService
from rocketstack.settings import Settings
from rocketstack.store.blobs import BlobStore
from rocketstack.store.database import Store, hash_api_key
from rocketstack.store.invocations import InvocationStore
from rocketstack.store.models import Tenant
from rocketstack.store.records import RecordBuffer
from rocketstack.store.schedules import ScheduleStore
from rocketstack.store.versions import VersionStore

log = logging.getLogger(__name__)

DEFAULT_TENANT = "default"


def make_sandbox(settings: Settings) -> Sandbox:
    return select_sandbox(settings)


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store.for_data_dir(settings.data_dir)
        self.blobs = BlobStore(settings.data_dir)
        self.runtimes = runtime_discovery.discover(settings)
        self.sandbox = make_sandbox(settings)
        self.records = RecordBuffer(
            self.store,
            max_function_bytes_per_minute=settings.log_max_bytes_per_function_minute,
            retention_seconds=settings.log_retention_days * 86400.0,
        )
        self.pool = InstancePool(settings, self.runtimes, self.sandbox, self.records)
        self.functions = FunctionService(settings, self.store, self.blobs, self.pool)
        self.deployer = Deployer(
            self.store, self.blobs, self.pool, self.runtimes, self._function_changed
        )
        self.functions.deployer = self.deployer
        # Set when the server starts shutting down, so that open log streams end.
        self.closing = asyncio.Event()
        self.versions = VersionStore(self.store)
        self.updater = Updater(
            self.store, self.versions, self.blobs, self.pool, self.deployer, self.functions
        )
        self.invocations = InvocationStore(self.store)
        self.queue = EventQueue(settings, self.invocations, self.functions, self.pool)
        self.scheduler = Scheduler(
            ScheduleStore(self.store),
            self.queue,
            self.functions,
            make_clock(settings.scheduler_clock_file),
            settings.scheduler_tick_seconds,
        )
        self.functions.on_delete += [self.updater.forget, self.queue.forget, self.scheduler.forget]
        # The admin key in clear when this start created it, for the banner.
        self.created_admin_key: str | None = None

    def initialise(self) -> None:
        """Create the schema and, on the first start, the default tenant and its key."""
        self.store.create_schema()
        self.blobs.clear_tmp()
        tenant = self.store.tenant_by_name(DEFAULT_TENANT)
        if tenant is None:
            tenant, key = self.store.create_tenant(DEFAULT_TENANT, self.settings.admin_api_key)
            if not self.settings.admin_api_key:
                self.created_admin_key = key
            self._write_key_file(key)
        elif self.settings.admin_api_key:
            # A key set in the environment always works, also after the first start.
            if self.store.tenant_for_key_hash(hash_api_key(self.settings.admin_api_key)) is None:
                self.store.add_api_key(tenant.id, self.settings.admin_api_key)

    def _function_changed(self, function_id: str) -> None:
        self.functions.invalidate(function_id)
        self.updater.record_created(function_id)

    def _write_key_file(self, key: str) -> None:
        path = self.key_file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(key + "\n")
        os.chmod(path, 0o600)

    @property
    def key_file(self) -> Path:
        return self.settings.data_dir / "admin-api-key"

    def default_tenant(self) -> Tenant:
        tenant = self.store.tenant_by_name(DEFAULT_TENANT)
        assert tenant is not None, "initialise() creates the default tenant"
        return tenant

    async def start(self) -> None:
        log.info("sandbox backend: %s", self.sandbox.name)
        for warning in self.sandbox.warnings:
            log.warning("weaker isolation: %s", warning)
        for runtime in self.runtimes.values():
            if runtime.available:
                log.info("runtime %s: %s (%s)", runtime.name, runtime.executable, runtime.version)
            else:
                log.warning("runtime %s is unavailable: %s", runtime.name, runtime.unavailable_reason)
        self.records.start()
        self.pool.start()
        await self.deployer.recover()
        self.updater.recover()
        await self.queue.start()
        self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.queue.stop()
        await self.updater.close()
        await self.deployer.close()
        await self.pool.close()
        self.sandbox.close()
        await self.records.stop()
        self.store.close()
