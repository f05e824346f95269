"""Time limits (办理时限): the working calendar, a service's limit, and the case's clock
(start on submission, pause for a correction or supplement, resume)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from backend.cases.models import Case, SlaFlag
from backend.cases.policy import local_date, workflow_policy
from backend.clock import CHINA_TZ
from backend.container import Container
from config.policy import Policies, PolicyError
from workflows.calendar import WorkingCalendar
from workflows.definition import Definition
from workflows.sla import ClockRule, LimitUnit, TimeLimit, due_at, resumed_due, warning_at

_CALENDARS: dict[int, tuple[Policies, WorkingCalendar]] = {}


def calendar_for(policies: Policies) -> WorkingCalendar:
    """The working calendar (holidays and adjusted working days) of ``policies``, built once
    per policies object."""
    cached = _CALENDARS.get(id(policies))
    if cached is not None and cached[0] is policies:
        return cached[1]
    years = policies.holidays.versions
    cal = WorkingCalendar.build(
        holidays=[d for y in years for d in y.holidays],
        adjusted_workdays=[d for y in years for d in y.adjusted_workdays],
        years=[y.year for y in years],
        tz=CHINA_TZ,
    )
    _CALENDARS[id(policies)] = (policies, cal)
    return cal


def calendar(c: Container) -> WorkingCalendar:
    return calendar_for(c.policies)


def time_limit(c: Container, defn: Definition, on: date | None = None) -> TimeLimit:
    """The service's limit: its definition's own, else the case policy's in force ``on``."""
    if defn.sla.limit is not None:
        return defn.sla.limit
    policy = workflow_policy(c, on)
    entry = policy.time_limits.get(defn.code)
    if entry is None:
        raise PolicyError(
            f"case_workflow.yaml: field time_limits.{defn.code}: missing for service {defn.name}"
        )
    return TimeLimit(
        entry.amount, LimitUnit(entry.unit), entry.warning_ratio or policy.warning_ratio
    )


def start_clock(c: Container, defn: Definition, now: datetime) -> dict[str, Any]:
    """The case columns that start the clock at submission."""
    limit = time_limit(c, defn, local_date(c, now))
    due = due_at(limit, now, calendar(c))
    return {
        "sla_started_at": now,
        "submitted_at": now,
        "due_at": due,
        "warning_at": warning_at(limit, now, due),
        "sla_flag": SlaFlag.NORMAL,
    }


def pause_clock(rule: ClockRule, now: datetime) -> dict[str, Any]:
    """The case columns that pause the clock (unless the rule lets it run on)."""
    return {} if rule is ClockRule.CONTINUE else {"sla_paused_at": now}


def resume_clock(c: Container, defn: Definition, case: Case, rule: ClockRule) -> dict[str, Any]:
    """The case columns that resume a paused clock: the new due time, warning and flag."""
    now = c.clock.now()
    if case.sla_paused_at is None or case.due_at is None or rule is ClockRule.CONTINUE:
        return {}
    limit = time_limit(c, defn, local_date(c, case.sla_started_at))
    due = resumed_due(
        limit,
        rule,
        due=case.due_at,
        paused_at=case.sla_paused_at,
        resumed_at=now,
        calendar=calendar(c),
    )
    start = now if rule is ClockRule.RESTART else case.sla_started_at or now
    warn = warning_at(limit, start, due)
    flag = SlaFlag.OVERDUE if now >= due else SlaFlag.WARNING if now >= warn else SlaFlag.NORMAL
    return {
        "sla_paused_at": None,
        "due_at": due,
        "warning_at": warn,
        "sla_flag": flag,
        "sla_started_at": start,
    }
