"""Time as a dependency, so that deadlines, lockouts and token expiry can be tested."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self._now = moment


def local_today(clock: Clock) -> date:
    """Today in the bureau's time zone: policy dates and ages are local dates."""
    return local_date(clock.now())


def local_date(moment: datetime) -> date:
    """The bureau's calendar date at ``moment`` (``local_today`` of a clock reading in hand)."""
    return moment.astimezone(CHINA_TZ).date()


def iso(moment: datetime | None) -> str | None:
    """The one convention for a moment in any response: ISO 8601 in UTC (``+00:00``). Calendar
    dates (birthdays, due dates, policy dates) are local dates, ``YYYY-MM-DD``."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None
