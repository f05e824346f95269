"""Review (分类审核): tasks per category and level, one holder at a time; the reviewer's
decision; the domain's assessment of a case in review."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from backend.cases.access import SYSTEM_ACTOR, Actor, actor_for, expect_version
from backend.cases.engine import fire, gather_facts, record_event
from backend.cases.errors import StaleCase, TaskNotFound, TaskTaken
from backend.cases.issuance import issue, issue_document
from backend.cases.models import Case, CaseTask, SlaFlag, TaskStatus
from backend.cases.policy import coded_reason, definition_of
from backend.cases.time_limits import pause_clock
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.models import Account, Role
from backend.identity.principal import Principal
from workflows.definition import CaseState, Definition


async def open_task(
    c: Container, case: Case, *, level: int, holder_id: int | None = None
) -> CaseTask:
    """A review task for ``case`` at ``level``, open or already held by ``holder_id``."""
    now = c.clock.now()
    return await CaseTask.create(
        case=case,
        level=level,
        category=case.category,
        status=TaskStatus.CLAIMED if holder_id else TaskStatus.OPEN,
        service_code=case.service_code,
        station_id=case.station_id,
        due_at=case.due_at,
        escalated=case.sla_flag == SlaFlag.OVERDUE,
        holder_id=holder_id,
        claimed_at=now if holder_id else None,
        created_at=now,
    )


async def _load_task(actor: Actor, task_id: int) -> tuple[CaseTask, Case]:
    task = await CaseTask.get_or_none(id=task_id)
    p = actor.principal
    if task is None or p is None:
        raise TaskNotFound()
    if p.role is Role.REVIEWER and task.category not in p.categories:
        raise TaskNotFound()
    if p.role not in (Role.REVIEWER, Role.SUPERVISOR):
        raise TaskNotFound()
    case = await Case.get(id=task.case_id)
    return task, case


async def claim(c: Container, principal: Principal, task_id: int) -> CaseTask:
    """One holder at a time: a conditional UPDATE on an open, unheld task. The loser gets 409."""
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    now = c.clock.now()
    async with in_transaction():
        won = await CaseTask.filter(id=task.id, status=TaskStatus.OPEN, holder_id=None).update(
            status=TaskStatus.CLAIMED, holder_id=actor.id, claimed_at=now, version=task.version + 1
        )
        if won != 1:
            raise TaskTaken(task_id=task.id)
        await record_event(
            c,
            case,
            "claim",
            actor,
            source=case.state,
            target=case.state,
            data={"task_id": task.id, "level": task.level},
        )
    return await CaseTask.get(id=task.id)


async def release(c: Container, principal: Principal, task_id: int) -> CaseTask:
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    supervisor = principal.role is Role.SUPERVISOR
    async with in_transaction():
        query = CaseTask.filter(id=task.id, status=TaskStatus.CLAIMED, version=task.version)
        if not supervisor:
            query = query.filter(holder_id=actor.id)
        done = await query.update(
            status=TaskStatus.OPEN, holder_id=None, claimed_at=None, version=task.version + 1
        )
        if done != 1:
            raise Conflict("只能释放本人领取的任务", code="TASK_NOT_HELD")
        await record_event(
            c,
            case,
            "release",
            actor,
            source=case.state,
            target=case.state,
            data={"task_id": task.id, "holder_id": task.holder_id},
        )
    return await CaseTask.get(id=task.id)


async def reassign(
    c: Container, principal: Principal, task_id: int, *, to_account_id: int
) -> CaseTask:
    """A supervisor hands a task to another reviewer of its category."""
    if principal.role is not Role.SUPERVISOR:
        raise Forbidden("只有科室负责人可以转派任务", code="SUPERVISOR_ONLY")
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    target = await Account.get_or_none(id=to_account_id, role=Role.REVIEWER, is_active=True)
    if target is None or task.category not in (target.categories or []):
        raise InvalidInput("只能转派给该类别的审核人员", code="ASSIGNEE_INVALID")
    now = c.clock.now()
    async with in_transaction():
        done = await CaseTask.filter(
            id=task.id, version=task.version, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
        ).update(
            status=TaskStatus.CLAIMED, holder_id=target.id, claimed_at=now, version=task.version + 1
        )
        if done != 1:
            raise Conflict("任务已被处理或已变更，请刷新后重试", code="TASK_CHANGED")
        moved = {"task_id": task.id, "from": task.holder_id, "to": target.id}
        await record_event(
            c, case, "reassign", actor, source=case.state, target=case.state, data=moved
        )
    return await CaseTask.get(id=task.id)


DECISIONS = ("approve", "reject", "return")


@dataclass(frozen=True)
class _Step:
    """What a reviewer's decision does: the transition, the task's outcome, the case columns
    and the reason written with it."""

    transition: str
    outcome: str
    changes: Mapping[str, Any]
    reason_code: str = ""
    reason_text: str = ""


def _step(
    c: Container,
    case: Case,
    defn: Definition,
    decision: str,
    reason_code: str | None,
    text: str,
    now: datetime,
) -> _Step:
    if decision == "approve":
        if case.review_level < case.required_levels:
            next_level = {"review_level": case.review_level + 1}
            return _Step("approve_level", "approved", next_level, reason_text=text)
        return _Step("approve", "approved", {}, reason_text=text)
    if decision == "reject":
        coded = coded_reason(c, "reject", reason_code)  # refuses an unknown code
        text = text or coded
        reason = {"reason_code": reason_code, "reason_text": text}
        return _Step("reject", "rejected", reason, reason_code or "", text)
    coded = coded_reason(c, "supplement", reason_code)
    text = text or coded
    paused = pause_clock(defn.sla.on_supplement, now)
    return _Step("return_for_supplement", "returned", paused, reason_code or "", text)


async def decide(
    c: Container,
    principal: Principal,
    task_id: int,
    *,
    case_version: int,
    decision: str,
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """approve / reject (coded reason + text) / return for supplement, by the task's holder."""
    if decision not in DECISIONS:
        raise InvalidInput("审核结论只能是 approve、reject 或 return", code="DECISION_INVALID")
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    if task.status not in (TaskStatus.CLAIMED, TaskStatus.OPEN):
        raise Conflict("该任务已办结", code="TASK_CLOSED")
    expect_version(case, case_version)
    defn = definition_of(c, case)
    now = c.clock.now()
    async with in_transaction():
        facts = await gather_facts(c, case, actor, defn, task=task)
        step = _step(c, case, defn, decision, reason_code, reason_text, now)
        # The holder closes the task first: a final transition cancels what is still open.
        closed = await CaseTask.filter(
            id=task.id, status=TaskStatus.CLAIMED, holder_id=actor.id
        ).update(
            status=TaskStatus.DONE,
            completed_by_id=actor.id,
            completed_at=now,
            outcome=step.outcome,
            version=task.version + 1,
        )
        await fire(
            c,
            case,
            defn,
            step.transition,
            actor,
            facts=facts,
            changes=step.changes,
            reason_code=step.reason_code,
            reason_text=step.reason_text,
            data={"task_id": task.id, "level": task.level},
        )
        if closed != 1:
            raise TaskTaken(task_id=task.id)
        await _after_decision(c, case, defn, step.transition)
    return case


async def _after_decision(c: Container, case: Case, defn: Definition, transition: str) -> None:
    if transition == "approve_level":
        await open_task(c, case, level=case.review_level)
    elif transition == "approve" and case.open_gaps == 0:
        await issue(c, case, defn)
    elif transition == "reject":
        await issue_document(c, case, defn, outcome="rejected")


async def update_assessment(
    c: Container,
    case: Case,
    *,
    amount: Decimal | None,
    required_levels: int,
    data: Mapping[str, Any] | None = None,
) -> Case:
    """A service's domain sets the case amount and the review levels it needs once it has
    assessed the case in review (e.g. the reimbursable amount known only after the reviewer
    confirmed the invoices). Compare-and-set on (state, version); never below the level under
    review. Call inside a transaction."""
    if case.state != CaseState.IN_REVIEW:
        raise Conflict("办件不在审核中", code="INVALID_STATE", state=case.state)
    levels = max(required_levels, case.review_level, 1)
    now = c.clock.now()
    moved = await Case.filter(id=case.id, state=case.state, version=case.version).update(
        amount=amount, required_levels=levels, version=case.version + 1, updated_at=now
    )
    if moved != 1:
        raise StaleCase(case_id=case.id)
    case.amount, case.required_levels, case.version = amount, levels, case.version + 1
    await record_event(
        c,
        case,
        "assess",
        SYSTEM_ACTOR,
        source=case.state,
        target=case.state,
        data={
            "amount": str(amount) if amount is not None else None,
            "required_levels": levels,
            **(data or {}),
        },
    )
    return case
