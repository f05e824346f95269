"""Working-day arithmetic over a holiday calendar with adjusted working days (调休).

A day is a working day when it is an adjusted working day (a weekend day worked in exchange
for a longer holiday), or when it is Monday to Friday and not a public holiday. Dates are
local dates in the bureau's time zone; deadlines are the end of a local day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class CalendarError(ValueError):
    """A date falls outside the years the calendar covers."""


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    adjusted_workdays: frozenset[date] = field(default_factory=frozenset)
    # Years the calendar has data for; arithmetic outside them is refused rather than guessed.
    years: frozenset[int] = field(default_factory=frozenset)
    tz: timezone = CHINA_TZ

    @classmethod
    def build(
        cls,
        holidays: Iterable[date],
        adjusted_workdays: Iterable[date],
        years: Iterable[int],
        tz: timezone = CHINA_TZ,
    ) -> WorkingCalendar:
        h, w = frozenset(holidays), frozenset(adjusted_workdays)
        both = h & w
        if both:
            raise CalendarError(f"dates both holiday and working day: {sorted(both)}")
        return cls(h, w, frozenset(years), tz)

    def _check(self, day: date) -> None:
        if self.years and day.year not in self.years:
            raise CalendarError(f"no holiday calendar for {day.year}")

    def is_working_day(self, day: date) -> bool:
        self._check(day)
        if day in self.adjusted_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """The first instant of the next local day: a deadline "by the end of ``day``"."""
        return datetime.combine(day + timedelta(days=1), time(0), self.tz)

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, left = start, days
        while left:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many a deadline moves after a pause."""
        if end <= start:
            return 0
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def working_deadline(self, start: datetime, days: int) -> datetime:
        """Due at the end of the ``days``-th working day after the day of ``start``."""
        return self.end_of_day(self.add_working_days(self.local_date(start), days))
