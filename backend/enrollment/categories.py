"""Subsidy categories (资助参保类别: 特困人员, 低保对象, 返贫致贫人口, ...) take effect only with
evidence and a second person.

1. A staff member in the person's scope proposes a change with the civil-affairs document's
   number and an uploaded scan of it (JPEG, PNG or PDF, checked by content like invoices).
   Nothing changes yet: the premium is unaffected while the change is pending.
2. A different staff member in scope (or a supervisor) approves it: only then is the category
   written (``PersonCategory``) and the premium follows. Or rejects it.

Supervisors and admins see the list of all changes. Every step is audited.
"""

from __future__ import annotations

from datetime import date, timedelta

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import local_today
from backend.container import Container
from backend.enrollment.models import CategoryChange, ChangeStatus, PersonCategory
from backend.enrollment.results import CategoryChanges, CategoryChangeView, CategoryDecision
from backend.enrollment.service import STAFF_ROLES, category_of
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity.models import Person
from backend.identity.persons import person_view
from backend.identity.principal import Principal
from backend.stations.scans import store_scan
from backend.stations.scope import ALL_STATIONS, check_staff_scope, person_not_found
from config.policy import Policies


def known_categories(policies: Policies) -> set[str]:
    """Every subsidy category code of the premium policy's versions."""
    known: set[str] = set()
    for version in policies.premium.versions:
        known |= set(version.subsidies)
    return known


def change_view(c: Container, change: CategoryChange, person: Person) -> CategoryChangeView:
    return CategoryChangeView(
        id=change.id,
        person=person_view(c, person),
        category=change.category,
        valid_from=change.valid_from.isoformat(),
        valid_to=change.valid_to.isoformat() if change.valid_to else None,
        evidence_number=change.evidence_number,
        evidence_type=change.evidence_type,
        note=change.note,
        status=change.status.value,
        proposed_by=change.proposed_by_id,
        proposed_at=change.proposed_at.isoformat(),
        decided_by=change.decided_by_id,
        decided_at=change.decided_at.isoformat() if change.decided_at else None,
        decision_note=change.decision_note,
    )


async def _person_in_scope(principal: Principal, person_id: int) -> Person:
    if principal.role not in STAFF_ROLES:
        raise Forbidden()
    person = await Person.get_or_none(id=person_id)
    if person is None:
        raise person_not_found()
    await check_staff_scope(principal, [person.id])
    return person


async def propose(
    c: Container,
    principal: Principal,
    person_id: int,
    *,
    category: str | None,
    valid_from: date,
    valid_to: date | None,
    evidence_number: str,
    evidence: bytes,
    note: str = "",
) -> CategoryChangeView:
    person = await _person_in_scope(principal, person_id)
    known = known_categories(c.policies)
    if category is not None and category not in known:
        raise InvalidInput(
            "未知的资助参保类别", code="UNKNOWN_SUBSIDY_CATEGORY", known=sorted(known)
        )
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput("结束日期早于开始日期", code="DATE_RANGE_INVALID")
    evidence_number = evidence_number.strip()
    if not evidence_number:
        raise InvalidInput("须填写认定文件编号", code="EVIDENCE_NUMBER_REQUIRED")
    scan = await store_scan(c, f"evidence/categories/{person.id}", evidence)
    now = c.clock.now()
    async with in_transaction():
        change = await CategoryChange.create(
            person=person,
            category=category,
            valid_from=valid_from,
            valid_to=valid_to,
            evidence_number=evidence_number[:64],
            evidence_key=scan.key,
            evidence_type=scan.content_type,
            evidence_sha256=scan.sha256,
            note=note[:200],
            status=ChangeStatus.PENDING,
            proposed_by_id=principal.account_id,
            proposed_at=now,
        )
        await record(
            c,
            actor=principal,
            action="enrollment.category.proposed",
            subject_type="person",
            subject_id=person.id,
            data={
                "change_id": change.id,
                "category": category,
                "evidence_number": change.evidence_number,
                "evidence_sha256": scan.sha256,
            },
        )
    return change_view(c, change, person)


async def _apply(change: CategoryChange, approver_id: int) -> None:
    if change.category is None:
        await PersonCategory.filter(
            person_id=change.person_id,
            valid_from__lt=change.valid_from,
            valid_to__isnull=True,
        ).update(valid_to=change.valid_from - timedelta(days=1))
        return
    await PersonCategory.create(
        person_id=change.person_id,
        category=change.category,
        valid_from=change.valid_from,
        valid_to=change.valid_to,
        recorded_by_id=approver_id,
        note=f"变更单 {change.id}，认定文件 {change.evidence_number}"[:200],
    )


async def decide(
    c: Container, principal: Principal, change_id: int, *, approve: bool, note: str = ""
) -> CategoryDecision:
    """The second person approves (the category takes effect) or rejects a pending change."""
    change = await CategoryChange.get_or_none(id=change_id)
    if change is None:
        raise NotFound("未找到该变更申请", code="CATEGORY_CHANGE_NOT_FOUND")
    try:
        person = await _person_in_scope(principal, change.person_id)
    except NotFound:
        raise NotFound("未找到该变更申请", code="CATEGORY_CHANGE_NOT_FOUND") from None
    if change.proposed_by_id == principal.account_id:
        raise Forbidden("须由提出人以外的另一名工作人员审核", code="SECOND_PERSON_REQUIRED")
    async with in_transaction():
        decided = await CategoryChange.filter(id=change.id, status=ChangeStatus.PENDING).update(
            status=ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED,
            decided_by_id=principal.account_id,
            decided_at=c.clock.now(),
            decision_note=note[:200],
        )
        if not decided:
            raise Conflict("该变更申请已审核", code="CATEGORY_CHANGE_DECIDED")
        if approve:
            await _apply(change, principal.account_id)
        await record(
            c,
            actor=principal,
            action="enrollment.category.approved" if approve else "enrollment.category.rejected",
            subject_type="person",
            subject_id=person.id,
            data={"change_id": change.id, "category": change.category},
        )
    view = change_view(c, await CategoryChange.get(id=change.id), person)
    return CategoryDecision(
        **vars(view), current_category=await category_of(person.id, local_today(c.clock))
    )


async def list_changes(
    c: Container, principal: Principal, status: ChangeStatus | None
) -> CategoryChanges:
    """Supervisors and admins: every change of subsidy categories, newest first."""
    if principal.role not in ALL_STATIONS:
        raise Forbidden()
    query = CategoryChange.all()
    if status is not None:
        query = query.filter(status=status)
    rows = await query.order_by("-id").limit(200).prefetch_related("person")
    return CategoryChanges([change_view(c, row, row.person) for row in rows])
