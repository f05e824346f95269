"""Expert review of a chronic-disease application, criterion by criterion.

:func:`assess` records the reviewer's verdict on every criterion of the disease and decides
from them (all met: approve; otherwise reject) in one transaction. :func:`check_verdicts`, run
by the issuance hook on every reviewer's decision, refuses an approval or rejection without
verdicts that support it, so the generic decision endpoint cannot bypass the criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import review
from backend.cases.models import Case, CaseTask, TaskStatus
from backend.chronic.entitlement import SPEC, case_disease
from backend.chronic.models import ChronicVerdict
from backend.chronic.results import RecordedVerdict, ReviewCriteria, criteria_of
from backend.container import Container
from backend.errors import Conflict, InvalidInput, NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from config.policy import ChronicDisease


@dataclass(frozen=True)
class Verdict:
    criterion: str
    met: bool
    note: str = ""


async def _review_task(principal: Principal, task_id: int) -> tuple[CaseTask, Case]:
    task = await CaseTask.get_or_none(id=task_id)
    if (
        task is None
        or task.service_code != SPEC.service
        or principal.role is not Role.REVIEWER
        or task.category not in principal.categories
    ):
        raise NotFound("未找到该审核任务", code="TASK_NOT_FOUND")
    return task, await Case.get(id=task.case_id)


async def criteria_for_task(c: Container, principal: Principal, task_id: int) -> ReviewCriteria:
    task, case = await _review_task(principal, task_id)
    disease = case_disease(c, case)
    verdicts = await ChronicVerdict.filter(case_id=case.id).order_by("level", "criterion")
    return ReviewCriteria(
        task_id=task.id,
        case_id=case.id,
        disease_code=case.form["disease_code"],
        disease_name=disease.name,
        criteria=criteria_of(disease),
        verdicts=[RecordedVerdict(v.level, v.criterion, v.met, v.note or None) for v in verdicts],
    )


def _check_complete(disease: ChronicDisease, verdicts: list[Verdict]) -> None:
    """One verdict on every criterion of the disease, and on nothing else."""
    given = [v.criterion for v in verdicts]
    unknown = sorted(set(given) - set(disease.criteria))
    if unknown:
        raise InvalidInput(
            "评审项不属于该病种的认定标准",
            code="CRITERION_UNKNOWN",
            unknown=unknown,
            criteria=dict(disease.criteria),
        )
    if len(set(given)) != len(given):
        raise InvalidInput("同一评审项只能给出一个意见", code="CRITERION_DUPLICATE")
    missing = [k for k in disease.criteria if k not in given]
    if missing:
        raise InvalidInput(
            "请对每一项认定标准给出评审意见",
            code="CRITERIA_INCOMPLETE",
            missing={k: disease.criteria[k] for k in missing},
        )


async def _record_verdicts(
    c: Container,
    principal: Principal,
    case: Case,
    disease: ChronicDisease,
    verdicts: list[Verdict],
    reason_text: str,
) -> None:
    """This level's verdicts (replacing earlier ones of the level) and their audit entry."""
    level = case.review_level
    now = c.clock.now()
    await ChronicVerdict.filter(case_id=case.id, level=level).delete()
    for v in verdicts:
        await ChronicVerdict.create(
            case_id=case.id,
            level=level,
            criterion=v.criterion,
            criterion_text=disease.criteria[v.criterion][:200],
            met=v.met,
            note=v.note[:300],
            reviewer_id=principal.account_id,
            created_at=now,
        )
    await audit.record(
        c,
        actor=principal,
        action="chronic.assess",
        subject_type="case",
        subject_id=case.id,
        reason=reason_text[:200],
        data={"level": level, "verdicts": {v.criterion: v.met for v in verdicts}},
    )


async def assess(
    c: Container,
    principal: Principal,
    task_id: int,
    *,
    case_version: int,
    verdicts: list[Verdict],
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """The expert reviewer's verdict on every criterion, and the decision that follows: all
    criteria met → approve; any not met → reject (coded reason, J01 by default)."""
    task, case = await _review_task(principal, task_id)
    if task.status != TaskStatus.CLAIMED or task.holder_id != principal.account_id:
        raise Conflict("请先领取该审核任务", code="TASK_NOT_HELD")
    disease = case_disease(c, case)
    _check_complete(disease, verdicts)
    failed = [disease.criteria[v.criterion] for v in verdicts if not v.met]
    async with in_transaction():
        await _record_verdicts(c, principal, case, disease, verdicts, reason_text)
        if not failed:
            return await review.decide(
                c,
                principal,
                task_id,
                case_version=case_version,
                decision="approve",
                reason_text=reason_text,
            )
        return await review.decide(
            c,
            principal,
            task_id,
            case_version=case_version,
            decision="reject",
            reason_code=reason_code or "J01",
            reason_text=reason_text or f"不符合认定标准：{'；'.join(failed)}"[:500],
        )


async def check_verdicts(case: Case, name: str) -> None:
    """A reviewer's approval or rejection agrees with the verdicts recorded for its level."""
    level = case.review_level - 1 if name == "approve_level" else case.review_level
    rows = await ChronicVerdict.filter(case_id=case.id, level=level).values_list("met", flat=True)
    if not rows:
        raise Conflict("请先逐项记录专家评审意见", code="VERDICTS_REQUIRED")
    if name in ("approve", "approve_level") and not all(rows):
        raise Conflict("有认定标准未满足，不能批准", code="VERDICTS_CONTRADICT")
    if name == "reject" and all(rows):
        raise Conflict("各项认定标准均已满足，不能不予批准", code="VERDICTS_CONTRADICT")
