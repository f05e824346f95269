"""Enrollment rules: who may be enrolled for which year, at what premium, and their status.

- The premium of a year is ``config/policy/premium.yaml``'s version for that year: the
  standard individual contribution less the subsidy of the person's category on the local date
  (特困人员 fully, 低保对象 by a fixed amount, ...). Money is integer fen throughout.
- Enrolling (creating an order) is allowed inside the year's collection period (集中征缴期);
  outside it only a newborn within ``newborn_days`` of birth may enrol, for the current year.
- A citizen acts for themself and for family members whose consent is granted (or who are
  minors); station staff act for the persons in their station's scope
  (``backend/stations/scope.py``), supervisors and admins for anyone, recorded as the agent in
  the audit log. A person the caller may not act for is reported exactly like a missing one.
- Status per person and year: not enrolled, pending payment, enrolled, or lapsed (enrolled the
  year before, not this year, and this year's collection period is over).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import local_today
from backend.container import Container
from backend.enrollment.models import Enrollment, EnrollmentStatus, PersonCategory
from backend.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from backend.identity.idcard import parse_id_number
from backend.identity.models import Account, Person, Role
from backend.identity.persons import find_or_create_person, find_person, person_view
from backend.identity.principal import Principal
from backend.stations.scope import check_staff_scope
from config.policy import PolicyError, PremiumPolicy

STAFF_ROLES = (Role.STATION_STAFF, Role.SUPERVISOR, Role.ADMIN)
MAX_PERSONS_PER_ORDER = 10


class OutsideCollectionPeriod(DomainError):
    status = 422
    code = "COLLECTION_PERIOD_CLOSED"
    message = "当前不在该年度的集中征缴期内，暂不能参保缴费"


class PremiumNotPublished(DomainError):
    status = 422
    code = "PREMIUM_NOT_PUBLISHED"
    message = "该年度的缴费标准尚未公布"


class AlreadyEnrolled(Conflict):
    code = "ALREADY_ENROLLED"
    message = "该人员本年度已参保缴费，无需重复缴费"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def premium_for(c: Container, year: int) -> PremiumPolicy:
    """The premium version for insurance ``year`` exactly (never the previous year's)."""
    try:
        version = c.policies.premium.at(date(year, 1, 1))
    except (PolicyError, ValueError) as exc:
        raise PremiumNotPublished(year=year) from exc
    if version.year != year:
        raise PremiumNotPublished(year=year)
    return version


async def category_of(person_id: int, on: date) -> str | None:
    """The person's subsidy category on ``on`` (the most recently starting one)."""
    row = (
        await PersonCategory.filter(person_id=person_id, valid_from__lte=on)
        .filter(valid_to__isnull=True)
        .order_by("-valid_from", "-id")
        .first()
    )
    bounded = (
        await PersonCategory.filter(person_id=person_id, valid_from__lte=on, valid_to__gte=on)
        .order_by("-valid_from", "-id")
        .first()
    )
    candidates = [r for r in (row, bounded) if r is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.valid_from, r.id)).category


@dataclass(frozen=True)
class Quote:
    person_id: int
    year: int
    contribution_fen: int
    category: str | None
    category_name: str | None
    subsidy_fen: int
    due_fen: int

    def as_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "contribution_fen": self.contribution_fen,
            "subsidy_category": self.category,
            "subsidy_category_name": self.category_name,
            "subsidy_fen": self.subsidy_fen,
            "due_fen": self.due_fen,
            "due_yuan": yuan(self.due_fen),
        }


async def quote(c: Container, person: Person, year: int) -> Quote:
    policy = premium_for(c, year)
    today = local_today(c.clock)
    code = await category_of(person.id, today)
    category = policy.subsidies.get(code) if code else None
    if category is None:
        subsidy = 0
    else:
        subsidy = policy.contribution_fen if category.full else category.amount_fen
    return Quote(
        person_id=person.id,
        year=year,
        contribution_fen=policy.contribution_fen,
        category=code if category else None,
        category_name=category.name if category else None,
        subsidy_fen=subsidy,
        due_fen=policy.contribution_fen - subsidy,
    )


def is_newborn(c: Container, person: Person, policy: PremiumPolicy, today: date) -> bool:
    age_days = (today - person.birth_date).days
    return 0 <= age_days <= policy.newborn_days


def check_window(c: Container, person: Person, year: int) -> None:
    """Raise unless ``person`` may enrol for ``year`` today (collection period or newborn)."""
    policy = premium_for(c, year)
    today = local_today(c.clock)
    if policy.collection_start <= today <= policy.collection_end:
        return
    if year == today.year and is_newborn(c, person, policy, today):
        return  # 新生儿: any time within newborn_days of birth, for the current year
    raise OutsideCollectionPeriod(
        year=year,
        collection_start=policy.collection_start.isoformat(),
        collection_end=policy.collection_end.isoformat(),
    )


async def caller_person(principal: Principal) -> Person:
    account = await Account.get_or_none(id=principal.account_id)
    person_id = account.person_id if account else None  # type: ignore[attr-defined]
    if person_id is None:
        raise Forbidden("请先完成实名认证", code="REAL_NAME_REQUIRED")
    return await Person.get(id=person_id)


async def _may_act_for(c: Container, me: Person, person_id: int) -> bool:
    try:
        from backend.family.service import can_act_for
    except ImportError:  # pragma: no cover - the family package predates this module
        from backend.family.models import ConsentStatus, FamilyMember

        if me.id == person_id:
            return True
        return await FamilyMember.exists(
            owner_id=me.id,
            member_id=person_id,
            consent_status__in=[ConsentStatus.GRANTED, ConsentStatus.NOT_REQUIRED],
        )
    return await can_act_for(c, me.id, person_id)


async def persons_for(c: Container, principal: Principal, person_ids: list[int]) -> list[Person]:
    """The persons the caller may act for, in the order asked; a 404 for any other id."""
    unique_ids = list(dict.fromkeys(person_ids))
    if not unique_ids:
        raise InvalidInput("请至少选择一名参保人员", code="NO_PERSONS")
    if len(unique_ids) > MAX_PERSONS_PER_ORDER:
        raise InvalidInput(f"一次最多为 {MAX_PERSONS_PER_ORDER} 人缴费", code="TOO_MANY_PERSONS")
    persons = {p.id: p for p in await Person.filter(id__in=unique_ids)}
    missing = NotFound("未找到该参保人员", code="PERSON_NOT_FOUND")
    if principal.role is Role.CITIZEN:
        me = await caller_person(principal)
        for pid in unique_ids:
            if pid not in persons or not await _may_act_for(c, me, pid):
                raise missing
    elif principal.role in STAFF_ROLES:
        if len(persons) != len(unique_ids):
            raise missing
        await check_staff_scope(principal, unique_ids)
    else:
        raise Forbidden()
    return [persons[pid] for pid in unique_ids]


async def ensure_rows(person_ids: list[int], year: int) -> list[Enrollment]:
    """The enrollment rows of (person, year), created as "not enrolled" when missing. The
    unique (person, year) constraint decides between concurrent creators."""
    existing = {
        e.person_id: e for e in await Enrollment.filter(person_id__in=person_ids, year=year)
    }
    for pid in person_ids:
        if pid in existing:
            continue
        try:
            async with in_transaction():
                existing[pid] = await Enrollment.create(
                    person_id=pid, year=year, status=EnrollmentStatus.NOT_ENROLLED
                )
        except IntegrityError:
            existing[pid] = await Enrollment.get(person_id=pid, year=year)
    return [existing[pid] for pid in person_ids]


async def status_of(c: Container, person_id: int, year: int) -> EnrollmentStatus:
    row = await Enrollment.get_or_none(person_id=person_id, year=year)
    current = EnrollmentStatus(row.status) if row is not None else None
    if current is not None and current is not EnrollmentStatus.NOT_ENROLLED:
        return current
    previous = await Enrollment.exists(
        person_id=person_id, year=year - 1, status=EnrollmentStatus.ENROLLED
    )
    return status_from(c, year, current, enrolled_year_before=previous)


def status_from(
    c: Container, year: int, current: EnrollmentStatus | None, *, enrolled_year_before: bool
) -> EnrollmentStatus:
    """``status_of``'s rule on rows already read: ``current`` is the status on the person's
    enrollment row for ``year`` (None: no row); ``enrolled_year_before``: an *enrolled* row for
    ``year - 1`` exists. Any stored status but not-enrolled stands; otherwise enrolled the year
    before and this year's collection closed is *lapsed*, anything else *not enrolled*."""
    if current is not None and current is not EnrollmentStatus.NOT_ENROLLED:
        return current
    if enrolled_year_before:
        try:
            policy = premium_for(c, year)
            closed = local_today(c.clock) > policy.collection_end
        except PremiumNotPublished:
            closed = local_today(c.clock).year >= year
        if closed:
            return EnrollmentStatus.LAPSED
    return EnrollmentStatus.NOT_ENROLLED


async def is_enrolled(person_id: int, year: int) -> bool:
    """For other services (e-voucher, reimbursement): insured for ``year``."""
    return await Enrollment.exists(person_id=person_id, year=year, status=EnrollmentStatus.ENROLLED)


async def person_status(c: Container, person: Person, year: int) -> dict[str, Any]:
    row = await Enrollment.get_or_none(person_id=person.id, year=year)
    status = await status_of(c, person.id, year)
    view: dict[str, Any] = {
        "person": person_view(c, person),
        "year": year,
        "status": status.value,
        "order_id": row.order_id if row and status is EnrollmentStatus.PENDING_PAYMENT else None,
        "enrolled_at": row.enrolled_at.isoformat() if row and row.enrolled_at else None,
    }
    if status is EnrollmentStatus.ENROLLED and row is not None:
        view["paid"] = {
            "contribution_fen": row.contribution_fen,
            "subsidy_fen": row.subsidy_fen,
            "due_fen": row.due_fen,
            "channel": row.channel,
        }
    else:
        try:
            view["quote"] = (await quote(c, person, year)).as_json()
        except PremiumNotPublished:
            view["quote"] = None
    return view


async def my_family_status(c: Container, principal: Principal, year: int) -> dict[str, Any]:
    """The caller and every family member they may act for, with their status for ``year``."""
    from backend.family.models import FamilyMember

    me = await caller_person(principal)
    links = await FamilyMember.filter(owner_id=me.id).order_by("id").prefetch_related("member")
    persons = [me] + [link.member for link in links if await _may_act_for(c, me, link.member.id)]
    policy = None
    with suppress(PremiumNotPublished):
        policy = premium_for(c, year)
    return {
        "year": year,
        "collection_period": {
            "start": policy.collection_start.isoformat(),
            "end": policy.collection_end.isoformat(),
        }
        if policy
        else None,
        "items": [await person_status(c, p, year) for p in persons],
    }


async def status_for(
    c: Container, principal: Principal, person_id: int, year: int
) -> dict[str, Any]:
    (person,) = await persons_for(c, principal, [person_id])
    if principal.role is not Role.CITIZEN:
        await record(
            c,
            actor=principal,
            action="enrollment.read",
            subject_type="person",
            subject_id=person.id,
            data={"year": year},
        )
    return await person_status(c, person, year)


async def register_person(
    c: Container, principal: Principal, name: str, id_number: str
) -> dict[str, Any]:
    """Staff register a person not yet on record (帮办代办); a clerk's station becomes the
    person's registration station, so its clerks may act for them. A person already on record
    is only answered to staff who may act for them: registering cannot widen a clerk's scope."""
    if principal.role not in STAFF_ROLES:
        raise Forbidden()
    idn = parse_id_number(id_number, local_today(c.clock))
    existing = await find_person(c, idn.value)
    if existing is not None:
        try:
            await check_staff_scope(principal, [existing.id])
        except NotFound:
            raise Conflict(
                "该人员已登记。为其办理业务，须当面核验身份证并登记其签字授权书",
                code="PERSON_ALREADY_REGISTERED",
            ) from None
        person = existing
    else:
        person = await find_or_create_person(c, name, idn.value)
        if principal.role is Role.STATION_STAFF and principal.station_id is not None:
            await Person.filter(id=person.id, home_station_id=None).update(
                home_station_id=principal.station_id
            )
    await record(
        c,
        actor=principal,
        action="enrollment.person.register",
        subject_type="person",
        subject_id=person.id,
        data={"new": existing is None, "station_id": principal.station_id},
    )
    return person_view(c, person)
