"""Family members (亲情账户): a citizen bound to a real name adds the people they act for.

- Up to ``family.max_members`` members (config/policy/family.yaml, in force on the local date).
- A minor (younger than ``family.adult_age`` on the local date) needs no consent, but the
  guardianship needs proof (``backend/family/guardianship.py``): until the population registry
  or a station's check proves it the link is ``unproven`` and allows nothing. When the minor
  comes of age that basis lapses and the link counts as pending.
- An adult's link is pending until the adult consents, either from their own account (they log
  in, bind their real name, see the request and grant it) or through a signed form recorded by a
  station clerk (:class:`StationAuthorisation`, purpose ``family_consent``), before or after the
  link is added.
- Responses show persons masked only; another citizen's link id is a 404, never a 403, so ids
  reveal nothing. Adding, removing, granting and declining are audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.family import guardianship
from backend.family.models import ConsentStatus, FamilyMember, Relation, StationAuthorisation
from backend.family.results import ConsentRequest, ConsentRequests, Family, MemberView
from backend.identity.idcard import parse_id_number
from backend.identity.models import Account, Person
from backend.identity.persons import (
    find_or_create_person,
    find_person,
    id_index,
    lock_person,
    person_view,
)
from backend.identity.principal import Principal

CONSENT_PURPOSE = "family_consent"
VIA_MEMBER = "member"
VIA_STATION = "station"


def _age(birth: date, day: date) -> int:
    years = day.year - birth.year
    return years - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(c: Container, person: Person) -> bool:
    today = local_today(c.clock)
    return _age(person.birth_date, today) < c.policies.family.at(today).adult_age


def effective_status(c: Container, link: FamilyMember, member: Person) -> ConsentStatus:
    """The consent status as of today: a minor's "not required" (or unproven guardianship)
    lapses at adulthood, when the member's own consent is needed."""
    status = ConsentStatus(link.consent_status)
    if status in (ConsentStatus.NOT_REQUIRED, ConsentStatus.UNPROVEN) and not is_minor(c, member):
        return ConsentStatus.PENDING
    return status


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def member_view(
    c: Container, link: FamilyMember, member: Person, *, as_owner: bool = True
) -> MemberView:
    """The link as its owner sees it (``as_owner``), or as staff see it."""
    status = effective_status(c, link, member)
    return MemberView(
        id=link.id,
        relation=Relation(link.relation).value,
        consent_status=status.value,
        consent_via=link.consent_via,
        consented_at=_iso(link.consented_at),
        created_at=_iso(link.created_at),
        is_minor=is_minor(c, member),
        # The guardian of a minor sees the full birth date; everyone else the year only.
        member=person_view(c, member, full=as_owner and status is ConsentStatus.NOT_REQUIRED),
    )


def consent_request_view(
    c: Container, link: FamilyMember, owner: Person, me: Person
) -> ConsentRequest:
    return ConsentRequest(
        id=link.id,
        relation=Relation(link.relation).value,
        consent_status=effective_status(c, link, me).value,
        consent_via=link.consent_via,
        consented_at=_iso(link.consented_at),
        created_at=_iso(link.created_at),
        requester=person_view(c, owner),
    )


async def bound_person(c: Container, principal: Principal) -> Person:
    """The person the caller's account is bound to; family needs a real-name binding."""
    account = await Account.get_or_none(id=principal.account_id)
    person_id = account.person_id if account else None  # type: ignore[attr-defined]
    if person_id is None:
        raise Forbidden("请先完成实名认证", code="REAL_NAME_REQUIRED")
    return await Person.get(id=person_id)


async def _person_in_savepoint(c: Container, name: str, id_number: str) -> Person:
    """find_or_create_person inside a savepoint, so a lost creation race is a clean 409."""
    try:
        async with in_transaction():
            return await find_or_create_person(c, name, id_number)
    except BaseORMException as exc:  # IntegrityError, or the aborted savepoint after it
        raise Conflict("该人员信息正被同时登记，请稍后重试", code="PERSON_BUSY") from exc


async def latest_consent_form(owner_id: int, member_id: int) -> StationAuthorisation | None:
    return (
        await StationAuthorisation.filter(
            grantor_id=member_id,
            grantee_id=owner_id,
            purpose=CONSENT_PURPOSE,
            withdrawn_at__isnull=True,
        )
        .order_by("-id")
        .first()
    )


async def add_member(
    c: Container, principal: Principal, *, relation: Relation, name: str, id_number: str
) -> MemberView:
    today = local_today(c.clock)
    policy = c.policies.family.at(today)
    idn = parse_id_number(id_number, today)  # a bad number is a 422 before anything else
    owner = await bound_person(c, principal)
    if id_index(c, idn.value) == owner.id_number_idx:
        raise InvalidInput("不能将本人添加为家庭成员", code="FAMILY_SELF")
    async with in_transaction():
        # Lock the owner: concurrent adds of one owner take turns, so the limit holds.
        await lock_person(owner.id)
        known = await find_person(c, idn.value)
        if known is not None and await FamilyMember.exists(owner_id=owner.id, member_id=known.id):
            raise Conflict("该家庭成员已添加，请勿重复添加", code="FAMILY_MEMBER_EXISTS")
        if await FamilyMember.filter(owner_id=owner.id).count() >= policy.max_members:
            raise Conflict(
                f"家庭成员已达上限（最多 {policy.max_members} 人）",
                code="FAMILY_LIMIT_REACHED",
                max_members=policy.max_members,
            )
        member = await _person_in_savepoint(c, name, idn.value)
        form = None
        basis = None
        if is_minor(c, member):
            # Guardianship needs proof: the registry now, or a station's check later.
            basis = await guardianship.registry_basis(c, owner, member)
            status = ConsentStatus.NOT_REQUIRED if basis else ConsentStatus.UNPROVEN
        else:
            # A clerk may have recorded the adult's signed consent before the link existed.
            form = await latest_consent_form(owner.id, member.id)
            status = ConsentStatus.GRANTED if form else ConsentStatus.PENDING
        link = await FamilyMember.create(
            owner=owner,
            member=member,
            relation=relation,
            consent_status=status,
            consent_via=VIA_STATION if form else None,
            consented_at=c.clock.now() if form else None,
            consent_authorisation=form,
            guardianship_basis=basis,
        )
        if is_minor(c, member):
            await guardianship.notify_other_guardians(c, link, owner)
        await record(
            c,
            actor=principal,
            action="family.member.add",
            subject_type="person",
            subject_id=member.id,
            data={"link_id": link.id, "relation": relation.value, "consent": status.value},
        )
    return member_view(c, link, member)


async def _owned_link(c: Container, principal: Principal, link_id: int) -> FamilyMember:
    owner = await bound_person(c, principal)
    link = await FamilyMember.get_or_none(id=link_id, owner_id=owner.id).prefetch_related("member")
    if link is None:  # another citizen's link looks exactly like a missing one
        raise NotFound("未找到该家庭成员", code="FAMILY_MEMBER_NOT_FOUND")
    return link


async def list_members(c: Container, principal: Principal) -> Family:
    owner = await bound_person(c, principal)
    links = await FamilyMember.filter(owner_id=owner.id).order_by("id").prefetch_related("member")
    max_members = c.policies.family.at(local_today(c.clock)).max_members
    return Family([member_view(c, link, link.member) for link in links], len(links), max_members)


async def get_member(c: Container, principal: Principal, link_id: int) -> MemberView:
    link = await _owned_link(c, principal, link_id)
    return member_view(c, link, link.member)


async def remove_member(c: Container, principal: Principal, link_id: int) -> None:
    link = await _owned_link(c, principal, link_id)
    async with in_transaction():
        deleted = await FamilyMember.filter(id=link.id).delete()
        if not deleted:
            raise NotFound("未找到该家庭成员", code="FAMILY_MEMBER_NOT_FOUND")
        await record(
            c,
            actor=principal,
            action="family.member.remove",
            subject_type="person",
            subject_id=link.member.id,
            data={"link_id": link.id},
        )


async def list_consents(c: Container, principal: Principal) -> ConsentRequests:
    """Requests in which the caller is the member: to grant or decline."""
    me = await bound_person(c, principal)
    links = await FamilyMember.filter(member_id=me.id).order_by("id").prefetch_related("owner")
    return ConsentRequests([consent_request_view(c, link, link.owner, me) for link in links])


async def _member_link_locked(me: Person, link_id: int) -> FamilyMember:
    link = await FamilyMember.select_for_update().get_or_none(id=link_id, member_id=me.id)
    if link is None:
        raise NotFound("未找到该授权请求", code="CONSENT_REQUEST_NOT_FOUND")
    return link


async def grant_consent(c: Container, principal: Principal, link_id: int) -> ConsentRequest:
    """The member consents from their own account. Granting twice is harmless."""
    me = await bound_person(c, principal)
    async with in_transaction():
        link = await _member_link_locked(me, link_id)
        status = effective_status(c, link, me)
        if status is ConsentStatus.NOT_REQUIRED:
            raise Conflict("未成年家庭成员由监护人代办，无需本人同意", code="CONSENT_NOT_REQUIRED")
        if status is ConsentStatus.PENDING:
            link.consent_status = ConsentStatus.GRANTED
            link.consent_via = VIA_MEMBER
            link.consented_at = c.clock.now()
            link.consent_authorisation = None
            await link.save(
                update_fields=[
                    "consent_status",
                    "consent_via",
                    "consented_at",
                    "consent_authorisation_id",
                ]
            )
            await record(
                c,
                actor=principal,
                action="family.consent.grant",
                subject_type="person",
                subject_id=me.id,
                data={"link_id": link.id, "via": VIA_MEMBER},
            )
    owner = await Person.get(id=link.owner_id)
    return consent_request_view(c, link, owner, me)


async def decline_consent(c: Container, principal: Principal, link_id: int) -> None:
    """The member refuses a pending request or withdraws consent: the link is removed."""
    me = await bound_person(c, principal)
    async with in_transaction():
        link = await _member_link_locked(me, link_id)
        if effective_status(c, link, me) is ConsentStatus.NOT_REQUIRED:
            raise Conflict("未成年家庭成员由监护人代办，不能自行撤销", code="CONSENT_NOT_REQUIRED")
        await FamilyMember.filter(id=link.id).delete()
        await record(
            c,
            actor=principal,
            action="family.consent.decline",
            subject_type="person",
            subject_id=me.id,
            data={"link_id": link.id},
        )


async def apply_station_consent(
    c: Container, actor: Principal, form: StationAuthorisation
) -> FamilyMember | None:
    """Grant the pending link the recorded form consents to (grantor = member, grantee =
    account holder). Call inside the transaction that records the form."""
    link = await FamilyMember.select_for_update().get_or_none(
        owner_id=form.grantee_id,
        member_id=form.grantor_id,
    )
    if link is None:
        return None  # applied when the account holder adds the member
    member = await Person.get(id=link.member_id)
    if effective_status(c, link, member) is not ConsentStatus.PENDING:
        return link
    link.consent_status = ConsentStatus.GRANTED
    link.consent_via = VIA_STATION
    link.consented_at = c.clock.now()
    link.consent_authorisation = form
    await link.save(
        update_fields=["consent_status", "consent_via", "consented_at", "consent_authorisation_id"]
    )
    await record(
        c,
        actor=actor,
        action="family.consent.grant",
        subject_type="person",
        subject_id=member.id,
        data={"link_id": link.id, "via": VIA_STATION, "authorisation_id": form.id},
    )
    return link


async def can_act_for(c: Container, principal_person_id: int, person_id: int) -> bool:
    """Whether the holder of ``principal_person_id`` may act for ``person_id``: themselves, or
    a family member whose consent is granted or (still a minor) not required."""
    if principal_person_id == person_id:
        return True
    link = await FamilyMember.get_or_none(
        owner_id=principal_person_id, member_id=person_id
    ).prefetch_related("member")
    if link is None:
        return False
    return effective_status(c, link, link.member) in (
        ConsentStatus.GRANTED,
        ConsentStatus.NOT_REQUIRED,
    )
