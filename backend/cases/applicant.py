"""What the applicant's side does after submitting: answer a correction request (补正),
supply materials (补充材料, 容缺), withdraw."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from backend.cases.access import (
    Actor,
    acts_for_applicant,
    case_to_act_on,
)
from backend.cases.engine import fire, record_event
from backend.cases.errors import StaleCase
from backend.cases.forms import checked_form, seal, split_form
from backend.cases.issuance import issue
from backend.cases.materials import record, resolve
from backend.cases.models import Case, CaseMaterial, CaseTask, MaterialStatus, TaskStatus
from backend.cases.policy import definition_of
from backend.cases.review import open_task
from backend.cases.submission import after_submitted
from backend.cases.time_limits import resume_clock
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.principal import Principal
from workflows.definition import (
    FINAL_STATES,
    CaseState,
    Definition,
    facts_for,
    required_review_levels,
)


def _form_changes(
    c: Container, defn: Definition, case: Case, form: Mapping[str, Any]
) -> dict[str, Any]:
    if defn.derived:  # its derived facts were computed from the old form
        raise InvalidInput(
            "此事项补正时不能修改填写内容，如需修改请撤回后重新申请", code="FORM_CHANGE_NOT_ALLOWED"
        )
    clean = checked_form(defn, form, case.channel)
    plain, secret = split_form(defn, clean)
    changes = {
        "form": plain,
        "form_secret": seal(c, secret),
        "required_levels": required_review_levels(defn, facts_for(clean, case.channel)),
    }
    if defn.amount_field:
        changes["amount"] = Decimal(clean[defn.amount_field])
    return changes


async def resubmit(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    form: Mapping[str, Any] | None,
    materials: list[Mapping[str, str]],
) -> Case:
    """The applicant answers a correction request (补正) and the case returns to acceptance."""
    actor, case = await case_to_act_on(principal, case_id, version)
    defn = definition_of(c, case)
    refs = await resolve(
        defn,
        materials,
        applicant_id=case.applicant_id,
        case_id=case.id,
    )
    changes = resume_clock(c, defn, case, defn.sla.on_correction)
    if form is not None:
        changes |= _form_changes(c, defn, case, form)
    async with in_transaction():
        await fire(c, case, defn, "resubmit", actor, changes=changes)
        await record(c, case, defn, refs)
        await after_submitted(c, case, defn)
    return case


async def supply_materials(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    materials: list[Mapping[str, str]],
) -> Case:
    """Materials after acceptance: the answer to a reviewer's 补充材料 request, or the 容缺
    materials. When the last 容缺 material arrives for an approved case, it is issued."""
    actor, case = await case_to_act_on(principal, case_id, version)
    if not acts_for_applicant(actor, case):
        raise Forbidden("只有申请人本人或受理服务站可以补交材料", code="NOT_YOUR_CASE")
    defn = definition_of(c, case)
    refs = await resolve(
        defn,
        materials,
        applicant_id=case.applicant_id,
        case_id=case.id,
    )
    if not refs:
        raise InvalidInput("请至少提交一份材料", code="MATERIALS_REQUIRED")
    async with in_transaction():
        gap_keys = {
            str(key)
            for key in await CaseMaterial.filter(
                case_id=case.id, status=MaterialStatus.MISSING
            ).values_list("key", flat=True)
        }
        closing = gap_keys & set(refs)
        if case.state == CaseState.SUPPLEMENT:
            await _answer_supplement(c, case, defn, actor, len(closing))
        elif closing and case.state not in FINAL_STATES:
            await _close_gaps(c, case, defn, actor, closing)
        else:
            raise Conflict("当前不需要补交材料", code="NO_MATERIALS_EXPECTED")
        await record(c, case, defn, refs)
        if case.state == CaseState.APPROVED and case.open_gaps == 0:
            await issue(c, case, defn)
    return case


async def _answer_supplement(
    c: Container, case: Case, defn: Definition, actor: Actor, closing: int
) -> None:
    """补充材料 answered: the case goes back to the reviewer who asked."""
    last = await CaseTask.filter(case_id=case.id, outcome="returned").order_by("-id").first()
    changes = resume_clock(c, defn, case, defn.sla.on_supplement)
    changes["open_gaps"] = case.open_gaps - closing
    await fire(c, case, defn, "supplement", actor, changes=changes)
    await open_task(
        c, case, level=case.review_level, holder_id=last.completed_by_id if last else None
    )


async def _close_gaps(
    c: Container, case: Case, defn: Definition, actor: Actor, closing: set[str]
) -> None:
    """容缺 materials received: fewer open gaps, no change of state."""
    moved = await Case.filter(id=case.id, version=case.version, state=case.state).update(
        open_gaps=case.open_gaps - len(closing),
        version=case.version + 1,
        updated_at=c.clock.now(),
    )
    if moved != 1:
        raise StaleCase(case_id=case.id)
    case.open_gaps -= len(closing)
    case.version += 1
    names = "、".join(m.name for m in defn.materials if m.key in closing)
    await record_event(
        c,
        case,
        "materials_received",
        actor,
        source=case.state,
        target=case.state,
        data={"materials": sorted(closing)},
        citizen_text=f"已收到补交材料：{names}",
    )


async def withdraw(
    c: Container, principal: Principal, case_id: int, *, version: int, reason: str = ""
) -> Case:
    actor, case = await case_to_act_on(principal, case_id, version)
    defn = definition_of(c, case)
    async with in_transaction():
        # Cancel the unclaimed task first: a concurrent claim then finds nothing to claim,
        # and a claim that came first makes the guard below refuse.
        await CaseTask.filter(case_id=case.id, status=TaskStatus.OPEN).update(
            status=TaskStatus.CANCELLED, completed_at=c.clock.now()
        )
        await fire(c, case, defn, "withdraw", actor, reason_text=reason[:200])
    return case
