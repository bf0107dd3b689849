"""Schedule expressions: five-field cron in UTC, or rate(N minutes|hours|days)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from rocketstack.errors import InvalidParameter

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# The maximum rate() period. Longer ones would put the next run past the dates Python can
# represent, and cron suits yearly runs better.
MAX_RATE_SECONDS = 365 * 86400
_EXAMPLES = "e.g. '*/5 * * * *' (every 5 minutes, UTC) or 'rate(1 hour)'"


@dataclass(frozen=True)
class ScheduleExpression:
    text: str
    # Seconds between runs for rate(); None for cron.
    period: float | None

    @classmethod
    def parse(cls, text: str) -> ScheduleExpression:
        """Parse an expression or raise InvalidParameter naming the mistake."""
        value = text.strip()
        if value.startswith("rate"):
            match = _RATE_RE.match(value)
            if match is None:
                raise InvalidParameter(
                    f"expression {text!r} is invalid: write rate(N minutes), rate(N hours) or "
                    "rate(N days) with a whole number N"
                )
            amount, unit = int(match.group(1)), match.group(2)
            if amount < 1:
                raise InvalidParameter(f"expression {text!r} is invalid: N must be 1 or more")
            if amount == 1 and unit.endswith("s") or amount > 1 and not unit.endswith("s"):
                expected = unit.rstrip("s") if amount == 1 else unit.rstrip("s") + "s"
                raise InvalidParameter(
                    f"expression {text!r} is invalid: write rate({amount} {expected})"
                )
            period = amount * _UNIT_SECONDS[unit.rstrip("s")]
            if period > MAX_RATE_SECONDS:
                raise InvalidParameter(
                    f"expression {text!r} is invalid: the period is longer than 365 days; "
                    "use a cron expression for yearly runs"
                )
            return cls(value, float(period))
        fields = value.split()
        if len(fields) != 5:
            raise InvalidParameter(
                f"expression {text!r} has {len(fields)} fields; a cron expression has five "
                f"(minute hour day-of-month month day-of-week), {_EXAMPLES}"
            )
        try:
            CronSim(" ".join(fields), datetime.now(UTC))
        except CronSimError as error:
            raise InvalidParameter(
                f"expression {text!r} is invalid: {error}; {_EXAMPLES}"
            ) from error
        return cls(" ".join(fields), None)

    def next_after(self, now: float, previous: float | None = None) -> float:
        """Return the first run time after `now`. A rate keeps the rhythm of `previous`, the
        last scheduled time, when there is one."""
        if self.period is not None:
            if previous is None or previous > now:
                return now + self.period
            steps = math.floor((now - previous) / self.period) + 1
            return previous + steps * self.period
        start = datetime.fromtimestamp(now, UTC)
        return next(CronSim(self.text, start)).timestamp()
