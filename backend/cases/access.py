"""Who acts on a case, and what they may see and do: the actor, visibility, the applicant's
side and the front desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from backend.cases.errors import CaseNotFound, StaleCase
from backend.cases.models import Case
from backend.errors import Forbidden
from backend.identity.models import Account, Role
from backend.identity.principal import Principal
from workflows.definition import Channel
from workflows.vocabulary import FRONT_DESK

FRONT_DESK_CATEGORY = FRONT_DESK  # reviewers with this category do 综合受理 of app requests


@dataclass(frozen=True)
class Actor:
    """The principal plus what the case rules need to know about them."""

    principal: Principal | None  # None: the system (sweeper, automatic decisions)
    person_id: int | None = None

    @property
    def id(self) -> int | None:
        return self.principal.account_id if self.principal else None

    @property
    def role(self) -> str:
        return self.principal.role.value if self.principal else "system"


SYSTEM_ACTOR = Actor(None)


async def actor_for(principal: Principal) -> Actor:
    person_id: int | None = None
    if principal.role is Role.CITIZEN:
        ids = cast(
            list[int | None],
            await Account.filter(id=principal.account_id).values_list("person_id", flat=True),
        )
        person_id = ids[0] if ids else None
    return Actor(principal, person_id)


async def applicant_person_id(principal: Principal) -> int:
    """The person a citizen acts as: their real-name binding."""
    actor = await actor_for(principal)
    if actor.person_id is None:
        raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
    return actor.person_id


def can_see(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return True
    if p.role is Role.CITIZEN:
        return (actor.person_id is not None and case.applicant_id == actor.person_id) or (
            case.submitted_by_id == p.account_id
        )
    if p.role is Role.STATION_STAFF:
        return p.station_id is not None and case.station_id == p.station_id
    if p.role is Role.REVIEWER:
        return case.category in p.categories or FRONT_DESK_CATEGORY in p.categories
    return p.role in (Role.SUPERVISOR, Role.ADMIN)


async def load_case(actor: Actor, case_id: int) -> Case:
    """The case if the actor may see it; someone else's case is "not found", not "forbidden"."""
    case = await Case.get_or_none(id=case_id)
    if case is None or not can_see(actor, case):
        raise CaseNotFound()
    return case


async def case_to_act_on(
    principal: Principal, case_id: int, version: int | None
) -> tuple[Actor, Case]:
    """The actor and the case they act on: visible to them (else "not found") and at the
    version they saw (else 409 with the current one)."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    expect_version(case, version)
    return actor, case


def expect_version(case: Case, version: int | None) -> None:
    """The caller acted on the version they saw; otherwise 409 with the current one."""
    if version is not None and version != case.version:
        raise StaleCase(case_id=case.id, current_version=case.version)


def acts_for_applicant(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return True
    if p.role is Role.CITIZEN:
        return actor.person_id is not None and actor.person_id == case.applicant_id
    if p.role is Role.STATION_STAFF:
        return case.channel != Channel.APP and case.station_id == p.station_id
    return False


def is_front_desk(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return False
    if p.role is Role.STATION_STAFF:
        return case.station_id is not None and case.station_id == p.station_id
    if p.role is Role.REVIEWER:
        return FRONT_DESK_CATEGORY in p.categories
    return False
