"""Schedules: create, change and delete them, and run each due one as a queued invocation
with trigger `schedule`. Runs missed while the server was down run once on start."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson

from rocketstack.errors import InvalidParameter, NotFound
from rocketstack.scheduler.clock import Clock
from rocketstack.scheduler.expressions import ScheduleExpression
from rocketstack.scheduler.queue import EventQueue, new_invocation
from rocketstack.service import FunctionService
from rocketstack.store.database import new_id
from rocketstack.store.invocations import InvocationRecord
from rocketstack.store.models import FunctionRecord, Tenant, utc_now
from rocketstack.store.schedules import ScheduleRecord, ScheduleStore

log = logging.getLogger(__name__)

SCHEDULE_TRIGGER = "schedule"
MAX_SCHEDULES_PER_FUNCTION = 50
MAX_PAYLOAD_BYTES = 256 * 1024
_FIELDS = ("expression", "payload", "enabled", "description")


class Scheduler:
    def __init__(
        self,
        schedules: ScheduleStore,
        queue: EventQueue,
        functions: FunctionService,
        clock: Clock,
        tick_seconds: float,
    ) -> None:
        self.schedules = schedules
        self.queue = queue
        self.functions = functions
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # Changes from the API.

    def get(self, tenant: Tenant, schedule_id: str) -> ScheduleRecord:
        schedule = self.schedules.get(schedule_id)
        if schedule is None or schedule.tenant_id != tenant.id:
            raise NotFound(
                f"schedule {schedule_id!r} was not found; list a function's schedules with "
                "GET /v1/functions/{id}/schedules"
            )
        return schedule

    def create(self, record: FunctionRecord, body: dict[str, Any]) -> ScheduleRecord:
        _check_fields(body)
        if "expression" not in body:
            raise InvalidParameter(
                'expression is required, e.g. {"expression": "rate(5 minutes)"} or '
                '{"expression": "0 * * * *"}'
            )
        if self.schedules.count_for_function(record.id) >= MAX_SCHEDULES_PER_FUNCTION:
            raise InvalidParameter(
                f"function {record.name!r} has {MAX_SCHEDULES_PER_FUNCTION} schedules, the "
                "maximum; delete one first"
            )
        expression = _expression(body["expression"])
        enabled = _enabled(body.get("enabled", True))
        now = utc_now()
        schedule = ScheduleRecord(
            id=new_id("sch"),
            tenant_id=record.tenant_id,
            function_id=record.id,
            expression=expression.text,
            payload=_payload(body.get("payload", {})),
            enabled=enabled,
            description=_description(body.get("description", "")),
            next_run_at=expression.next_after(self.clock.now()) if enabled else None,
            last_run_at=None,
            last_invocation_id=None,
            created_at=now,
            updated_at=now,
        )
        self.schedules.insert(schedule)
        return schedule

    def update(self, schedule: ScheduleRecord, body: dict[str, Any]) -> ScheduleRecord:
        _check_fields(body)
        values: dict[str, Any] = {}
        expression = ScheduleExpression.parse(schedule.expression)
        if "expression" in body:
            expression = _expression(body["expression"])
            values["expression"] = expression.text
        if "payload" in body:
            values["payload"] = _payload(body["payload"])
        if "description" in body:
            values["description"] = _description(body["description"])
        enabled = _enabled(body["enabled"]) if "enabled" in body else schedule.enabled
        values["enabled"] = enabled
        if not enabled:
            values["next_run_at"] = None
        elif "expression" in values or not schedule.enabled:
            # A new rhythm, or a resumed schedule, starts from now: paused runs are skipped.
            values["next_run_at"] = expression.next_after(self.clock.now())
        updated = self.schedules.update(schedule.id, **values)
        if updated is None:
            raise NotFound(f"schedule {schedule.id!r} was deleted meanwhile")
        return updated

    def delete(self, schedule: ScheduleRecord) -> None:
        self.schedules.delete(schedule.id)

    async def run_now(self, schedule: ScheduleRecord) -> InvocationRecord:
        """Queue one run of the schedule now; its next scheduled run stays as it was."""
        record = self._function_of(schedule)
        invocation = new_invocation(
            record, schedule.payload, SCHEDULE_TRIGGER, schedule_id=schedule.id
        )
        await asyncio.to_thread(
            self.schedules.record_manual_run, schedule.id, invocation, self.clock.now()
        )
        self.queue.wake()
        return invocation

    def forget(self, record: FunctionRecord) -> None:
        self.schedules.delete_function(record.id)

    def _function_of(self, schedule: ScheduleRecord) -> FunctionRecord:
        return self.functions.get(schedule.tenant_id, schedule.function_id)

    # The clock.

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("the scheduler failed to run due schedules; trying again")
            await asyncio.sleep(self.tick_seconds)

    async def tick(self) -> int:
        """Queue one run of every due schedule, however many runs it missed; return how many
        ran."""
        now = self.clock.now()
        fired = 0
        for schedule in await asyncio.to_thread(self.schedules.due, now):
            try:
                record = self._function_of(schedule)
                expression = ScheduleExpression.parse(schedule.expression)
            except (NotFound, InvalidParameter) as error:
                log.warning("schedule %s cannot run: %s", schedule.id, error)
                continue
            invocation = new_invocation(
                record, schedule.payload, SCHEDULE_TRIGGER, schedule_id=schedule.id, now=time.time()
            )
            next_run = expression.next_after(now, schedule.next_run_at)
            if await asyncio.to_thread(self.schedules.fire, schedule, invocation, now, next_run):
                fired += 1
                log.info(
                    "schedule %s queued invocation %s of function %s",
                    schedule.id,
                    invocation.id,
                    record.id,
                )
        if fired:
            self.queue.wake()
        return fired


def _check_fields(body: dict[str, Any]) -> None:
    for key in body:
        if key not in _FIELDS:
            raise InvalidParameter(f"unknown field {key!r}; a schedule has {', '.join(_FIELDS)}")


def _expression(value: Any) -> ScheduleExpression:
    if not isinstance(value, str):
        raise InvalidParameter(
            'expression must be a string such as "rate(5 minutes)" or "0 * * * *"'
        )
    return ScheduleExpression.parse(value)


def _payload(value: Any) -> bytes:
    payload = orjson.dumps(value)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidParameter(
            f"payload is {len(payload)} bytes as JSON; a schedule's payload may take at most "
            f"{MAX_PAYLOAD_BYTES} bytes"
        )
    return payload


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter(f"enabled must be true or false, not {orjson.dumps(value).decode()}")
    return value


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise InvalidParameter("description must be a string of at most 256 characters")
    return value
