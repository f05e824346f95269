"""Guardianship of a minor (监护关系): a minor is added as a family member only with proof.

- The account holder's own identity is verified (a real-name binding, which needs a proof:
  ``backend/identity/binding.py``), and
- either the population registry names them as one of the minor's guardians
  (``backend/identity/registry.py``), or a station clerk checks the 出生医学证明 or 户口簿 in
  person (:func:`station_check`, recorded with clerk, station and document, audited).

Until then the link is ``unproven`` and lets its holder do nothing for the minor. When the minor
already has another guardian linked, that guardian gets a message and may object
(:func:`object_to`): the new link is ``frozen`` until a station decides (:func:`station_check`
with ``decision``).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.cases.models import InboxMessage
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.family.models import ConsentStatus, FamilyMember, GuardianshipBasis
from backend.family.results import GuardianshipChecked, Objection
from backend.identity.idcard import parse_id_number
from backend.identity.models import Person, Role
from backend.identity.persons import find_person, id_number_of
from backend.identity.principal import Principal
from backend.infra.crypto import mask_name


class GuardianshipDocument(StrEnum):
    BIRTH_CERTIFICATE = "birth_certificate"  # 出生医学证明
    HOUSEHOLD_REGISTER = "household_register"  # 户口簿


class Decision(StrEnum):
    CONFIRM = "confirm"  # the guardianship is proven: the link counts
    REMOVE = "remove"  # not a guardian: the link is removed


_DOCUMENT_ZH = {
    GuardianshipDocument.BIRTH_CERTIFICATE: "出生医学证明",
    GuardianshipDocument.HOUSEHOLD_REGISTER: "户口簿",
}


async def registry_basis(c: Container, owner: Person, minor: Person) -> GuardianshipBasis | None:
    """``registry`` when the population registry names ``owner`` as the minor's guardian."""
    guardians = await c.population_registry.guardians_of(id_number_of(c, minor))
    return GuardianshipBasis.REGISTRY if id_number_of(c, owner) in guardians else None


async def _message(c: Container, person_id: int, title: str, body: str) -> None:
    await InboxMessage.create(person_id=person_id, title=title, body=body, created_at=c.clock.now())


async def notify_other_guardians(c: Container, link: FamilyMember, owner: Person) -> None:
    """Tell the minor's other linked guardians about the new link; they may object."""
    others = await FamilyMember.filter(
        member_id=link.member_id,
        consent_status=ConsentStatus.NOT_REQUIRED,
    ).exclude(owner_id=owner.id)
    for other in others:
        await _message(
            c,
            other.owner_id,
            "有人将您监护的未成年人添加为家庭成员",
            f"{mask_name(owner.name)}将您监护的未成年人添加为家庭成员（编号 {link.id}）。"
            "如对方不是监护人，请在“家庭成员”中提出异议，该关系将被冻结，待服务站核实。",
        )


async def object_to(c: Container, principal: Principal, link_id: int) -> Objection:
    """Another guardian of the minor objects to the link: it is frozen until a station decides."""
    from backend.family.service import bound_person

    me = await bound_person(c, principal)
    async with in_transaction():
        link = await FamilyMember.select_for_update().get_or_none(id=link_id)
        mine = link is not None and await FamilyMember.exists(
            owner_id=me.id,
            member_id=link.member_id,
            consent_status=ConsentStatus.NOT_REQUIRED,
        )
        if link is None or not mine or link.owner_id == me.id:
            raise NotFound("未找到该家庭成员关系", code="FAMILY_MEMBER_NOT_FOUND")
        if link.consent_status not in (ConsentStatus.NOT_REQUIRED, ConsentStatus.UNPROVEN):
            raise Conflict("该关系已冻结或不涉及监护", code="OBJECTION_NOT_POSSIBLE")
        await FamilyMember.filter(id=link.id).update(
            consent_status=ConsentStatus.FROZEN,
            objected_by_person_id=me.id,
            objected_at=c.clock.now(),
        )
        await record(
            c,
            actor=principal,
            action="family.guardianship.objection",
            subject_type="person",
            subject_id=link.member_id,
            data={"link_id": link.id},
        )
        await _message(
            c,
            link.owner_id,
            "家庭成员关系已冻结",
            "该未成年人的其他监护人对您添加的家庭成员关系提出异议，关系已冻结。"
            "请携带出生医学证明或户口簿到医保服务站核实。",
        )
    return Objection(link.id, ConsentStatus.FROZEN.value)


async def _decide_link(
    clerk: Principal, link: FamilyMember, decision: Decision, document: str
) -> None:
    """Remove the link, or confirm it on the clerk's check of the named document."""
    if decision is Decision.REMOVE:
        await FamilyMember.filter(id=link.id).delete()
        return
    await FamilyMember.filter(id=link.id).update(
        consent_status=ConsentStatus.NOT_REQUIRED,
        guardianship_basis=GuardianshipBasis.STATION,
        guardianship_clerk_id=clerk.account_id,
        guardianship_station_id=clerk.station_id,
        guardianship_document=document,
        objected_by_person_id=None,
        objected_at=None,
    )


async def station_check(
    c: Container,
    clerk: Principal,
    *,
    guardian_id_number: str,
    minor_id_number: str,
    document_type: GuardianshipDocument,
    document_number: str,
    decision: Decision = Decision.CONFIRM,
) -> GuardianshipChecked:
    """A clerk checked the 出生医学证明 or 户口簿 in person and decides an unproven or frozen
    link of this guardian to this minor."""
    if clerk.role is not Role.STATION_STAFF or clerk.station_id is None:
        raise Forbidden("仅服务站工作人员可以办理", code="STATION_STAFF_ONLY")
    today = local_today(c.clock)
    guardian = await find_person(c, parse_id_number(guardian_id_number, today).value)
    minor = await find_person(c, parse_id_number(minor_id_number, today).value)
    document_number = document_number.strip()
    if not document_number:
        raise InvalidInput("须填写证件编号", code="DOCUMENT_NUMBER_REQUIRED")
    missing = NotFound("未找到待核实的监护关系", code="GUARDIANSHIP_NOT_FOUND")
    if guardian is None or minor is None:
        raise missing
    async with in_transaction():
        link = await FamilyMember.select_for_update().get_or_none(
            owner_id=guardian.id,
            member_id=minor.id,
            consent_status__in=[ConsentStatus.UNPROVEN, ConsentStatus.FROZEN],
        )
        if link is None:
            raise missing
        document = f"{_DOCUMENT_ZH[document_type]} {document_number}"[:80]
        await _decide_link(clerk, link, decision, document)
        await record(
            c,
            actor=clerk,
            action="family.guardianship.station_check",
            subject_type="person",
            subject_id=minor.id,
            data={
                "link_id": link.id,
                "decision": decision.value,
                "document_type": document_type.value,
                "document_number": document_number[:64],
                "station_id": clerk.station_id,
                "was": link.consent_status,
            },
        )
    return GuardianshipChecked(
        link_id=link.id,
        decision=decision.value,
        consent_status=ConsentStatus.NOT_REQUIRED.value if decision is Decision.CONFIRM else None,
        station_id=clerk.station_id,
        clerk_id=clerk.account_id,
        checked_at=c.clock.now().isoformat(),
    )
