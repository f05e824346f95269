"""Time limits (办理时限): the promised completion time and the normal / warning / overdue state.

The clock rule for correction (补正) and supplement (补充材料) is explicit per definition:
``pause`` (the waiting time is added back), ``continue`` (the deadline stays) or ``restart``
(a full limit again from the resubmission).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from workflows.calendar import WorkingCalendar


class LimitUnit(StrEnum):
    WORKING_DAYS = "working_days"
    NATURAL_DAYS = "natural_days"
    HOURS = "hours"


class ClockRule(StrEnum):
    PAUSE = "pause"
    CONTINUE = "continue"
    RESTART = "restart"


class SlaState(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"
    PAUSED = "paused"


@dataclass(frozen=True)
class TimeLimit:
    amount: int
    unit: LimitUnit
    warning_ratio: float = 0.8  # share of the limit after which the case is in warning

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("time limit amount must be positive")
        if not 0 < self.warning_ratio < 1:
            raise ValueError("warning_ratio must be between 0 and 1")


def due_at(limit: TimeLimit, start: datetime, calendar: WorkingCalendar) -> datetime:
    if limit.unit is LimitUnit.WORKING_DAYS:
        return calendar.working_deadline(start, limit.amount)
    if limit.unit is LimitUnit.NATURAL_DAYS:
        return calendar.end_of_day(calendar.local_date(start) + timedelta(days=limit.amount))
    return start + timedelta(hours=limit.amount)


def warning_at(limit: TimeLimit, start: datetime, due: datetime) -> datetime:
    return start + (due - start) * limit.warning_ratio


def resumed_due(
    limit: TimeLimit,
    rule: ClockRule,
    *,
    due: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    calendar: WorkingCalendar,
) -> datetime:
    """The deadline after the applicant answers a correction or supplement request."""
    if rule is ClockRule.CONTINUE:
        return due
    if rule is ClockRule.RESTART:
        return due_at(limit, resumed_at, calendar)
    # PAUSE: the time spent waiting on the applicant is given back, in the limit's own unit.
    if limit.unit is LimitUnit.WORKING_DAYS:
        lost = calendar.working_days_between(
            calendar.local_date(paused_at), calendar.local_date(resumed_at)
        )
        return calendar.end_of_day(
            calendar.add_working_days(calendar.local_date(due - timedelta(microseconds=1)), lost)
        )
    return due + (resumed_at - paused_at)


def sla_state(
    now: datetime, *, due: datetime | None, warn: datetime | None, paused: bool = False
) -> SlaState:
    if paused:
        return SlaState.PAUSED
    if due is None:
        return SlaState.NORMAL
    if now >= due:
        return SlaState.OVERDUE
    if warn is not None and now >= warn:
        return SlaState.WARNING
    return SlaState.NORMAL
