"""The time-limit sweeper: warnings, overdue escalation and 容缺 deadlines.

Safe to run twice or on several workers at once: a lease lock in the key-value store keeps
concurrent runs from doing the same scan, and each effect is a compare-and-set (on the SLA flag
or on state + version), so even without the lock nothing happens twice. Time comes from the
injected clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from backend.cases.access import SYSTEM_ACTOR
from backend.cases.engine import fire, record_event
from backend.cases.models import Case, CaseTask, SlaFlag, TaskStatus
from backend.cases.policy import definition_of
from backend.container import Container
from backend.errors import DomainError
from backend.infra.kv import LockNotAcquired, hold_lock
from workflows.definition import OPEN_STATES

log = logging.getLogger("yibao.cases.sweeper")
LOCK_NAME = "case-sweeper"
_OPEN = [s.value for s in OPEN_STATES]


@dataclass
class SweepReport:
    warned: int = 0
    overdue: int = 0
    closed: int = 0
    skipped: bool = False  # another sweeper held the lock


async def sweep(c: Container, *, batch: int = 500, lock_ttl_s: float = 300) -> SweepReport:
    try:
        async with hold_lock(c.kv, LOCK_NAME, lock_ttl_s):
            return await sweep_unlocked(c, batch=batch)
    except LockNotAcquired:
        return SweepReport(skipped=True)


async def sweep_unlocked(c: Container, *, batch: int = 500) -> SweepReport:
    """One pass; exposed so tests can prove the CAS alone prevents double effects."""
    now = c.clock.now()
    return SweepReport(
        warned=await _warn(c, now, batch),
        overdue=await _escalate(c, now, batch),
        closed=await _close_lapsed_gaps(c, now, batch),
    )


async def _warn(c: Container, now: datetime, batch: int) -> int:
    """Warning: the promised time is near."""
    warned = 0
    ids = (
        await Case.filter(
            state__in=_OPEN,
            sla_flag=SlaFlag.NORMAL,
            warning_at__lte=now,
            due_at__gt=now,
            sla_paused_at__isnull=True,
        )
        .limit(batch)
        .values_list("id", flat=True)
    )
    for case_id in ids:
        async with in_transaction():
            if await Case.filter(id=case_id, sla_flag=SlaFlag.NORMAL).update(
                sla_flag=SlaFlag.WARNING
            ):
                case = await Case.get(id=case_id)
                due = case.due_at.isoformat() if case.due_at else None
                await record_event(
                    c,
                    case,
                    "sla_warning",
                    SYSTEM_ACTOR,
                    source=case.state,
                    target=case.state,
                    data={"due_at": due},
                )
                warned += 1
    return warned


async def _escalate(c: Container, now: datetime, batch: int) -> int:
    """Overdue: mark, escalate the open review tasks to the supervisors' queue, tell the
    citizen."""
    overdue = 0
    ids = (
        await Case.filter(
            state__in=_OPEN,
            sla_flag__in=[SlaFlag.NORMAL, SlaFlag.WARNING],
            due_at__lte=now,
            sla_paused_at__isnull=True,
        )
        .limit(batch)
        .values_list("id", flat=True)
    )
    for case_id in ids:
        async with in_transaction():
            marked = await Case.filter(
                id=case_id, sla_flag__in=[SlaFlag.NORMAL, SlaFlag.WARNING]
            ).update(sla_flag=SlaFlag.OVERDUE, escalated_at=now)
            if not marked:
                continue
            await CaseTask.filter(
                case_id=case_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
            ).update(escalated=True)
            case = await Case.get(id=case_id)
            text = "办件已超过承诺时限，已提交督办优先处理"
            await record_event(
                c,
                case,
                "sla_overdue",
                SYSTEM_ACTOR,
                source=case.state,
                target=case.state,
                citizen_text=text,
            )
            overdue += 1
    return overdue


async def _close_lapsed_gaps(c: Container, now: datetime, batch: int) -> int:
    """容缺 deadlines: close (or reject) cases whose missing materials did not arrive."""
    closed = 0
    ids = (
        await Case.filter(state__in=_OPEN, open_gaps__gt=0, tolerance_due_at__lte=now)
        .limit(batch)
        .values_list("id", flat=True)
    )
    for case_id in ids:
        case = await Case.get(id=case_id)
        defn = definition_of(c, case)
        if defn.tolerance is None:
            continue
        try:
            async with in_transaction():
                await fire(
                    c,
                    case,
                    defn,
                    defn.tolerance.on_expiry,
                    SYSTEM_ACTOR,
                    reason_text="容缺材料未在期限内补齐",
                )
            closed += 1
        except DomainError as exc:  # moved meanwhile (supplied, withdrawn, another sweeper)
            log.info("case %s not closed: %s", case_id, exc.code)
    return closed
