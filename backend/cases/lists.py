"""Lists of cases: the citizen's own, a station's, the front desk's acceptance queue and the
requests waiting for the applicant's authorisation."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from backend.cases.access import FRONT_DESK_CATEGORY, Actor
from backend.cases.details import case_summary
from backend.cases.models import Case
from backend.cases.results import CasePage, CaseSummary
from backend.container import Container
from backend.identity.models import Role
from workflows.definition import CaseState


@dataclass(frozen=True)
class Page:
    page: int = 1
    size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def my_cases(c: Container, actor: Actor, page: Page) -> CasePage:
    query = Case.filter(
        Q(applicant_id=actor.person_id) | Q(submitted_by_id=actor.id)
        if actor.person_id
        else Q(submitted_by_id=actor.id)
    )
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(page.offset).limit(page.size)
    return CasePage(total, [case_summary(c, r) for r in rows])


async def station_cases(
    c: Container, actor: Actor, page: Page, state: str | None = None
) -> CasePage:
    assert actor.principal is not None
    query = Case.filter(station_id=actor.principal.station_id)
    if state:
        query = query.filter(state=state)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(page.offset).limit(page.size)
    return CasePage(total, [case_summary(c, r) for r in rows])


async def acceptance_queue(c: Container, actor: Actor, page: Page) -> CasePage:
    """Cases waiting for 综合受理: a station's own, or all for a front-desk reviewer."""
    p = actor.principal
    assert p is not None
    query = Case.filter(state=CaseState.SUBMITTED.value)
    if p.role is Role.STATION_STAFF:
        query = query.filter(station_id=p.station_id)
    elif FRONT_DESK_CATEGORY not in p.categories:
        return CasePage(0, [])
    total = await query.count()
    rows = await query.order_by("due_at", "id").offset(page.offset).limit(page.size)
    return CasePage(total, [case_summary(c, r) for r in rows])


async def pending_authorisations(c: Container, actor: Actor) -> list[CaseSummary]:
    if actor.person_id is None:
        return []
    cases = await Case.filter(
        applicant_id=actor.person_id, state=CaseState.AWAITING_AUTHORISATION.value
    ).order_by("id")
    return [case_summary(c, x) for x in cases]
