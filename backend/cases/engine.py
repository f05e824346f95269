"""The transition core: every state change of a case goes through :func:`fire`.

The pure engine (:func:`workflows.engine.plan`) decides whether the transition may fire, then
one conditional UPDATE moves the case ``WHERE id=? AND state=? AND version=?``; zero rows
means someone else moved it first and the caller gets 409. The event, the audit entry, the
citizen's timeline entry and inbox message are written in the same transaction, so they commit
or fail with the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from backend.audit import service as audit
from backend.cases import hooks
from backend.cases.access import Actor, acts_for_applicant, is_front_desk
from backend.cases.errors import StaleCase
from backend.cases.forms import full_form
from backend.cases.materials import provided_keys
from backend.cases.models import Case, CaseEvent, CaseTask, InboxMessage, TaskStatus
from backend.cases.policy import definition_of
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.persons import lock_person
from workflows.definition import (
    FINAL_STATES,
    STATE_LABELS,
    CaseState,
    Channel,
    Definition,
    Transition,
    facts_for,
    missing_materials,
)
from workflows.engine import Facts, TransitionRefused, plan


def _refusal(exc: TransitionRefused) -> Exception:
    details = {k: v for k, v in exc.details.items() if k != "forbidden"}
    if exc.forbidden:
        return Forbidden(exc.message, code=exc.code, **details)
    if exc.kind == "unknown":
        return InvalidInput(exc.message, code=exc.code)
    return Conflict(exc.message, code=exc.code, **details)


async def gather_facts(
    c: Container, case: Case, actor: Actor, defn: Definition, *, task: CaseTask | None = None
) -> Facts:
    """What the pure engine needs to know to decide on a transition of ``case`` by ``actor``."""
    provided = await provided_keys(case)
    missing_key, missing_other = missing_materials(
        defn, facts_for(full_form(c, case), case.channel), provided
    )
    if defn.tolerance is None:  # without 容缺 every missing material blocks acceptance
        missing_key = missing_key + missing_other
    prior = cast(
        list[int | None],
        await CaseTask.filter(
            case_id=case.id, status=TaskStatus.DONE, outcome="approved"
        ).values_list("completed_by_id", flat=True),
    )
    started = await CaseTask.filter(
        case_id=case.id, status__in=[TaskStatus.CLAIMED, TaskStatus.DONE]
    ).exists()
    return Facts(
        state=CaseState(case.state),
        channel=case.channel,
        actor_id=actor.id,
        actor_role=actor.role,
        actor_acts_for_applicant=acts_for_applicant(actor, case),
        actor_is_front_desk=is_front_desk(actor, case),
        agent_account_id=(case.submitted_by_id if case.channel != Channel.APP else None),
        applicant_account_id=case.applicant_account_id,
        task_holder_id=task.holder_id if task else None,
        prior_reviewer_ids=frozenset(i for i in prior if i is not None),
        review_level=case.review_level,
        required_levels=case.required_levels,
        missing_key=len(missing_key),
        open_gaps=case.open_gaps if case.state != CaseState.SUBMITTED else len(missing_other),
        tolerance_due_at=case.tolerance_due_at,
        now=c.clock.now(),
        review_started=started,
        blockers=await hooks.blockers(c, case, defn),
    )


def _finish_fields(case: Case, target: CaseState, now: datetime) -> dict[str, Any]:
    """Statistics columns written when a case reaches a final state."""
    if target not in FINAL_STATES:
        return {}
    out: dict[str, Any] = {"completed_at": now, "outcome": target.value}
    if case.submitted_at is not None:
        out["handling_seconds"] = int((now - case.submitted_at).total_seconds())
    if case.due_at is not None and case.sla_started_at is not None:
        out["limit_seconds"] = int((case.due_at - case.sla_started_at).total_seconds())
        if target is not CaseState.WITHDRAWN:
            out["on_time"] = now <= case.due_at
    return out


def _citizen_text(transition: Transition, reason_text: str, note: str) -> str:
    text = transition.label or STATE_LABELS[transition.target]
    if reason_text:
        text = f"{text}：{reason_text}"
    if note:
        text = f"{text}（{note}）"
    return text[:300]


async def _apply(
    c: Container,
    case: Case,
    transition: Transition,
    actor: Actor,
    *,
    changes: Mapping[str, Any] | None = None,
    reason_code: str = "",
    reason_text: str = "",
    data: Mapping[str, Any] | None = None,
    note: str = "",
) -> Case:
    """Move ``case`` along ``transition`` with a compare-and-set; record everything.

    The applicant's row is locked first (docs/lock-order.md: person, then case, then task), so
    a hook that writes to the person, or a submission for the same person, cannot deadlock
    with the transition.
    """
    await lock_person(case.applicant_id)
    now = c.clock.now()
    source = CaseState(case.state)
    target = transition.target
    updates: dict[str, Any] = {
        "state": target.value,
        "version": case.version + 1,
        "updated_at": now,
        **_finish_fields(case, target, now),
        **(changes or {}),
    }
    moved = await Case.filter(id=case.id, state=case.state, version=case.version).update(**updates)
    if moved != 1:
        raise StaleCase(case_id=case.id)
    for name, value in updates.items():
        setattr(case, name, value)
    if target in FINAL_STATES:
        await CaseTask.filter(
            case_id=case.id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
        ).update(status=TaskStatus.CANCELLED, completed_at=now)
    await record_event(
        c,
        case,
        transition.name,
        actor,
        source=source,
        target=target,
        reason_code=reason_code,
        reason_text=reason_text,
        data={"version": case.version, **(data or {})},
        citizen_text=_citizen_text(transition, reason_text, note),
    )
    await hooks.after_transition(c, case, transition.name, actor)
    return case


async def record_event(
    c: Container,
    case: Case,
    action: str,
    actor: Actor,
    *,
    source: str,
    target: str,
    reason_code: str = "",
    reason_text: str = "",
    data: Mapping[str, Any] | None = None,
    citizen_text: str | None = None,
) -> None:
    """Record something that happened to ``case``: its event, the audit entry and, when there
    is a ``citizen_text``, the applicant's timeline entry and inbox message.

    For steps that are not transitions (a claim, a warning, an assessment) the caller passes
    ``source == target == case.state``. Call inside the transaction of the change itself.
    """
    now = c.clock.now()
    await CaseEvent.create(
        case=case,
        action=action,
        from_state=source,
        to_state=target,
        actor_id=actor.id,
        actor_role=actor.role,
        reason_code=reason_code,
        reason_text=reason_text[:500],
        data=dict(data or {}),
        citizen_text=citizen_text,
        at=now,
    )
    await audit.record(
        c,
        actor=actor.principal,
        action=f"case.{action}",
        subject_type="case",
        subject_id=case.id,
        reason=f"{reason_code} {reason_text}".strip(),
        data={"from": source, "to": target, **(data or {})},
    )
    if citizen_text:
        defn_name = definition_of(c, case).name
        await InboxMessage.create(
            person_id=case.applicant_id,
            case=case,
            title=f"{defn_name}：{STATE_LABELS.get(target, target)}"[:60],
            body=f"办件 {case.number}：{citizen_text}"[:300],
            created_at=now,
        )


async def fire(
    c: Container,
    case: Case,
    defn: Definition,
    name: str,
    actor: Actor,
    *,
    task: CaseTask | None = None,
    facts: Facts | None = None,
    changes: Mapping[str, Any] | None = None,
    reason_code: str = "",
    reason_text: str = "",
    data: Mapping[str, Any] | None = None,
    note: str = "",
) -> Case:
    """Fire the transition ``name`` of ``case`` for ``actor``, if the definition allows it.

    ``facts`` (from :func:`gather_facts`) when the caller already has them; ``changes``: more
    case columns written with the move; ``reason_*``, ``data`` and ``note`` go into the event
    and the citizen's message. Call inside a transaction. A refused transition is a 403, 409
    or 422 in the documented error format; :class:`StaleCase` (409) when the case moved
    meanwhile.
    """
    try:
        transition = plan(defn, name, facts or await gather_facts(c, case, actor, defn, task=task))
    except TransitionRefused as exc:
        raise _refusal(exc) from exc
    return await _apply(
        c,
        case,
        transition,
        actor,
        changes=changes,
        reason_code=reason_code,
        reason_text=reason_text,
        data=data,
        note=note,
    )
