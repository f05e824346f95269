"""Assisted service at a station (帮办代办): signed authorisation forms recorded by clerks, and
the clerk's look-up of a citizen by ID number.

Scoping: station staff see only their own station's records; another station's record is a 404,
exactly like a missing one. Supervisors and admins see every station's records, and each such
read is audited. A look-up of a citizen by ID number is a read of another person's data: it
needs a reason and is audited whether or not the person is found.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.cases.models import InboxMessage
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.family.models import FamilyMember, StationAuthorisation
from backend.family.service import apply_station_consent, bound_person, member_view
from backend.identity.idcard import IdNumber, parse_id_number
from backend.identity.models import Account, Person, Role
from backend.identity.persons import find_or_create_person, find_person, id_index, person_view
from backend.identity.principal import Principal
from backend.infra.crypto import mask_name
from backend.stations.results import (
    AuthorisationPage,
    AuthorisationView,
    CitizenFound,
    GranteeName,
    RecordedAuthorisation,
    SignedForm,
    SignedForms,
)
from backend.stations.scans import store_scan


class AuthorisationPurpose(StrEnum):
    FAMILY_CONSENT = "family_consent"  # an adult consents to be the grantee's family member
    ASSISTED_CASE = "assisted_case"  # the grantee (an agent) may file requests for the grantor


_ALL_STATIONS = (Role.SUPERVISOR, Role.ADMIN)
_MIN_REASON = 4


def _station_scope(actor: Principal) -> dict[str, Any]:
    """The filter limiting what ``actor`` may see: one station, or all (audited)."""
    if actor.role is Role.STATION_STAFF:
        if actor.station_id is None:
            raise Forbidden("该账号未关联服务站", code="NO_STATION")
        return {"station_id": actor.station_id}
    if actor.role in _ALL_STATIONS:
        return {}
    raise Forbidden()


def authorisation_view(
    c: Container, form: StationAuthorisation, grantor: Person, grantee: Person
) -> AuthorisationView:
    return AuthorisationView(
        id=form.id,
        station_id=form.station_id,
        clerk_id=form.clerk_id,
        purpose=form.purpose,
        form_number=form.form_number,
        note=form.note,
        created_at=form.created_at.isoformat() if form.created_at else None,
        grantor=person_view(c, grantor),
        grantee=person_view(c, grantee),
    )


async def _person(c: Container, name: str, id_number: str) -> Person:
    try:
        async with in_transaction():  # a savepoint: a lost creation race is a clean 409
            return await find_or_create_person(c, name, id_number)
    except BaseORMException as exc:
        raise Conflict("该人员信息正被同时登记，请稍后重试", code="PERSON_BUSY") from exc


def _two_people(
    c: Container, grantor_id_number: str, grantee_id_number: str
) -> tuple[IdNumber, IdNumber]:
    """The grantor's and the grantee's ID numbers, checked, of two different people."""
    today = local_today(c.clock)
    grantor_idn = parse_id_number(grantor_id_number, today)
    grantee_idn = parse_id_number(grantee_id_number, today)
    if grantor_idn.value == grantee_idn.value:
        raise InvalidInput("授权人与被授权人不能是同一人", code="AUTHORISATION_SELF")
    return grantor_idn, grantee_idn


async def _tell_grantor(
    c: Container,
    form: StationAuthorisation,
    grantor: Person,
    grantee: Person,
    purpose: AuthorisationPurpose,
) -> None:
    """The grantor learns in the app what was recorded in their name, and how to withdraw."""
    await InboxMessage.create(
        person=grantor,
        title="您在服务站登记了授权",
        body=f"您于{form.created_at:%Y-%m-%d}在服务站登记了授权书（编号 {form.form_number}），"
        f"授权{mask_name(grantee.name)}"
        + (
            "作为您的家庭成员为您办理医保业务"
            if purpose is AuthorisationPurpose.FAMILY_CONSENT
            else "为您代办医保业务"
        )
        + "。如非本人办理或需撤回，请在“我的授权”中撤回。",
        created_at=c.clock.now(),
    )


async def _audit_recorded(
    c: Container,
    actor: Principal,
    form: StationAuthorisation,
    grantor: Person,
    grantee: Person,
    link: FamilyMember | None,
) -> None:
    await record(
        c,
        actor=actor,
        action="station.authorisation.record",
        subject_type="person",
        subject_id=grantor.id,
        data={
            "authorisation_id": form.id,
            "station_id": form.station_id,
            "purpose": form.purpose,
            "grantee_person_id": grantee.id,
            "family_link_id": link.id if link else None,
        },
    )


async def record_authorisation(
    c: Container,
    actor: Principal,
    *,
    grantor_name: str,
    grantor_id_number: str,
    grantee_name: str,
    grantee_id_number: str,
    purpose: AuthorisationPurpose,
    form_number: str,
    grantor_id_card_checked: bool,
    signed_form: bytes,
    note: str = "",
) -> RecordedAuthorisation:
    """A clerk records a form the grantor signed in person: the clerk checked the grantor's ID
    card and uploads the signed form. A family-consent form grants the pending link at once.
    The grantor is told in the app and may withdraw there (:func:`withdraw`)."""
    if actor.role is not Role.STATION_STAFF:
        raise Forbidden("仅服务站工作人员可登记授权书", code="STATION_STAFF_ONLY")
    station_id = _station_scope(actor)["station_id"]
    if not grantor_id_card_checked:
        raise InvalidInput(
            "授权人须本人到场，由工作人员当面核验其居民身份证原件", code="ID_CARD_NOT_CHECKED"
        )
    grantor_idn, grantee_idn = _two_people(c, grantor_id_number, grantee_id_number)
    form_number = form_number.strip()
    scan = await store_scan(c, f"authorisations/{station_id}", signed_form)
    async with in_transaction():
        if await StationAuthorisation.exists(station_id=station_id, form_number=form_number):
            raise Conflict("该授权书编号已登记", code="FORM_ALREADY_RECORDED")
        grantor = await _person(c, grantor_name, grantor_idn.value)
        grantee = await _person(c, grantee_name, grantee_idn.value)
        form = await StationAuthorisation.create(
            station_id=station_id,
            clerk_id=actor.account_id,
            grantor=grantor,
            grantee=grantee,
            purpose=purpose.value,
            form_number=form_number,
            note=note.strip(),
            id_card_checked=True,
            scan_key=scan.key,
            scan_type=scan.content_type,
            scan_sha256=scan.sha256,
        )
        await _tell_grantor(c, form, grantor, grantee, purpose)
        link = None
        if purpose is AuthorisationPurpose.FAMILY_CONSENT:
            link = await apply_station_consent(c, actor, form)
        await _audit_recorded(c, actor, form, grantor, grantee, link)
    view = authorisation_view(c, form, grantor, grantee)
    return RecordedAuthorisation(**vars(view), family_link_id=link.id if link else None)


async def list_authorisations(
    c: Container,
    actor: Principal,
    *,
    station_id: int | None = None,
    purpose: AuthorisationPurpose | None = None,
    limit: int = 20,
    offset: int = 0,
) -> AuthorisationPage:
    filters = _station_scope(actor)
    if station_id is not None:
        if filters.get("station_id", station_id) != station_id:
            filters["id__in"] = []  # another station's list: nothing, like an empty station
        filters.setdefault("station_id", station_id)
    if purpose is not None:
        filters["purpose"] = purpose.value
    query = StationAuthorisation.filter(**filters)
    total = await query.count()
    rows = (
        await query.order_by("-id")
        .offset(offset)
        .limit(limit)
        .prefetch_related("grantor", "grantee")
    )
    if actor.role in _ALL_STATIONS:
        await record(
            c,
            actor=actor,
            action="station.authorisation.list",
            subject_type="station_authorisation",
            subject_id=station_id if station_id is not None else "*",
            data={"ids": [r.id for r in rows]},
        )
    return AuthorisationPage(
        [authorisation_view(c, r, r.grantor, r.grantee) for r in rows], total, limit, offset
    )


async def get_authorisation(c: Container, actor: Principal, form_id: int) -> AuthorisationView:
    form = await StationAuthorisation.get_or_none(
        id=form_id, **_station_scope(actor)
    ).prefetch_related("grantor", "grantee")
    if form is None:  # another station's record looks exactly like a missing one
        raise NotFound("未找到该授权记录", code="AUTHORISATION_NOT_FOUND")
    if actor.role in _ALL_STATIONS:
        await record(
            c,
            actor=actor,
            action="station.authorisation.read",
            subject_type="station_authorisation",
            subject_id=form.id,
            data={"grantor_person_id": form.grantor.id, "grantee_person_id": form.grantee.id},
        )
    return authorisation_view(c, form, form.grantor, form.grantee)


async def citizen_lookup(
    c: Container, actor: Principal, *, id_number: str, reason: str
) -> CitizenFound:
    """Staff find a citizen by ID number for assisted service; audited with the reason."""
    _station_scope(actor)
    reason = reason.strip()
    if len(reason) < _MIN_REASON:
        raise InvalidInput("请填写查询事由（至少 4 个字）", code="REASON_REQUIRED")
    idn = parse_id_number(id_number, local_today(c.clock))
    person = await find_person(c, idn.value)
    # Audit before answering, found or not: probing for a number is a read as well. The
    # subject of a miss is the keyed blind index, never the number itself.
    await record(
        c,
        actor=actor,
        action="person.lookup",
        subject_type="person",
        subject_id=person.id if person else f"idx:{id_index(c, idn.value)[:32]}",
        reason=reason,
        data={"found": person is not None, "station_id": actor.station_id},
    )
    if person is None:
        raise NotFound("未找到该身份证号码对应的参保人", code="PERSON_NOT_FOUND")
    links = await FamilyMember.filter(owner_id=person.id).order_by("id").prefetch_related("member")
    return CitizenFound(
        person=person_view(c, person),
        has_account=await Account.exists(person_id=person.id),
        family=[member_view(c, link, link.member, as_owner=False) for link in links],
    )


def _my_form_view(form: StationAuthorisation, grantee: Person) -> SignedForm:
    return SignedForm(
        id=form.id,
        purpose=form.purpose,
        form_number=form.form_number,
        station_id=form.station_id,
        grantee=GranteeName(mask_name(grantee.name)),
        created_at=form.created_at.isoformat() if form.created_at else None,
        withdrawn_at=form.withdrawn_at.isoformat() if form.withdrawn_at else None,
    )


async def my_authorisations(c: Container, principal: Principal) -> SignedForms:
    """The forms the caller signed at a station (as the grantor)."""
    me = await bound_person(c, principal)
    forms = (
        await StationAuthorisation.filter(grantor_id=me.id)
        .order_by("-id")
        .prefetch_related("grantee")
    )
    return SignedForms([_my_form_view(f, f.grantee) for f in forms])


async def withdraw(c: Container, principal: Principal, form_id: int) -> SignedForm:
    """The grantor withdraws a form from the app: it no longer authorises anything, and the
    family link it granted is removed."""
    me = await bound_person(c, principal)
    async with in_transaction():
        form = await StationAuthorisation.select_for_update().get_or_none(
            id=form_id, grantor_id=me.id
        )
        if form is None:
            raise NotFound("未找到该授权记录", code="AUTHORISATION_NOT_FOUND")
        if form.withdrawn_at is None:
            form.withdrawn_at = c.clock.now()
            await form.save(update_fields=["withdrawn_at"])
            removed = await FamilyMember.filter(consent_authorisation_id=form.id).delete()
            await record(
                c,
                actor=principal,
                action="station.authorisation.withdraw",
                subject_type="person",
                subject_id=me.id,
                data={"authorisation_id": form.id, "family_links_removed": removed},
            )
    grantee = await Person.get(id=form.grantee_id)
    return _my_form_view(form, grantee)
