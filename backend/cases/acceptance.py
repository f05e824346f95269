"""Front-desk acceptance (综合受理): accept (容缺 when only non-key materials are missing),
return for correction (退回补正) or refuse (不予受理); an accepted case goes to review."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.cases.access import (
    SYSTEM_ACTOR,
    Actor,
    case_to_act_on,
)
from backend.cases.engine import fire, gather_facts
from backend.cases.forms import full_form
from backend.cases.materials import provided_keys
from backend.cases.models import Case, CaseMaterial, MaterialStatus
from backend.cases.policy import coded_reason, definition_of, local_date, workflow_policy
from backend.cases.review import open_task
from backend.cases.time_limits import calendar, pause_clock
from backend.container import Container
from backend.errors import InvalidInput
from backend.identity.principal import Principal
from workflows.definition import Definition, facts_for, missing_materials
from workflows.engine import Facts


async def accept(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    outcome: str,
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """Outcomes: ``accept`` (容缺 when only non-key materials are missing and the service allows
    it), ``correct`` (退回补正), ``refuse`` (不予受理, with a coded reason)."""
    actor, case = await case_to_act_on(principal, case_id, version)
    defn = definition_of(c, case)
    now = c.clock.now()
    async with in_transaction():
        if outcome == "accept":
            await _accept(c, case, defn, actor, now)
        elif outcome == "correct":
            text = coded_reason(c, "correction", reason_code)
            await fire(
                c,
                case,
                defn,
                "return_for_correction",
                actor,
                changes=pause_clock(defn.sla.on_correction, now),
                reason_code=reason_code or "",
                reason_text=reason_text or text,
            )
        elif outcome == "refuse":
            text = coded_reason(c, "refuse", reason_code)
            await fire(
                c,
                case,
                defn,
                "refuse",
                actor,
                changes={"reason_code": reason_code, "reason_text": reason_text or text},
                reason_code=reason_code or "",
                reason_text=reason_text or text,
            )
        else:
            raise InvalidInput("受理结果只能是 accept、correct 或 refuse", code="OUTCOME_INVALID")
    return case


async def _accept(c: Container, case: Case, defn: Definition, actor: Actor, now: datetime) -> None:
    facts = await gather_facts(c, case, actor, defn)
    changes: dict[str, Any] = {"accepted_at": now}
    note = ""
    if facts.open_gaps and facts.missing_key == 0 and defn.tolerance is not None:
        gaps, note = await _tolerate(c, case, defn, facts, now)
        changes |= gaps
    await fire(
        c,
        case,
        defn,
        "accept",
        actor,
        facts=facts,
        changes=changes,
        note=note,
        data={"tolerance": bool(note)},
    )
    await _route(c, case, defn)


async def _tolerate(
    c: Container, case: Case, defn: Definition, facts: Facts, now: datetime
) -> tuple[dict[str, Any], str]:
    """容缺受理: record the missing materials and their deadline; (case columns, note)."""
    assert defn.tolerance is not None
    days = defn.tolerance.deadline_working_days or workflow_policy(c).tolerance_working_days
    deadline = calendar(c).working_deadline(now, days)
    provided = await provided_keys(case)
    _, other = missing_materials(defn, facts_for(full_form(c, case), case.channel), provided)
    for m in other:
        await CaseMaterial.create(
            case=case,
            key=m.key,
            name=m.name,
            is_key=False,
            status=MaterialStatus.MISSING,
            updated_at=now,
        )
    names = "、".join(m.name for m in other)
    due_day = local_date(c, deadline - timedelta(microseconds=1))
    note = f"容缺受理，请于{due_day:%Y年%m月%d日}前补交：{names}"
    return {"open_gaps": facts.open_gaps, "tolerance_due_at": deadline}, note


async def _route(c: Container, case: Case, defn: Definition) -> None:
    """Send an accepted case to its category queue (分类审核), level 1."""
    await fire(
        c,
        case,
        defn,
        "route",
        SYSTEM_ACTOR,
        changes={"review_level": 1},
        data={"category": defn.category},
    )
    await open_task(c, case, level=1)
