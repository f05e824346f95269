"""Submission: a new case from a request, checked against its definition, with its materials;
即受即办 decides on the spot when the definition's rule holds."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.cases.access import SYSTEM_ACTOR, Actor, actor_for
from backend.cases.engine import fire, record_event
from backend.cases.errors import UnknownService
from backend.cases.forms import check_key_materials, checked_form, full_form, seal, split_form
from backend.cases.issuance import issue
from backend.cases.materials import provided_keys, record, resolve
from backend.cases.models import Case
from backend.cases.policy import local_date
from backend.cases.time_limits import start_clock
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.models import Account, Person
from backend.identity.principal import Principal
from backend.stations.models import Station
from workflows.definition import (
    CaseState,
    Channel,
    Definition,
    facts_for,
    is_instant,
    missing_materials,
    required_review_levels,
)
from workflows.registry import UnknownDefinition

ADDRESS_FIELD = "case_delivery_address"


@dataclass(frozen=True)
class NewCase:
    service_code: str
    form: Mapping[str, Any]
    materials: list[Mapping[str, str]]
    delivery_method: str | None = None
    delivery_address: str | None = None
    origin: str = ""  # the domain creating the case, for services with an owner (ServiceHooks)
    # Facts the owning domain derived from the form and its policy (Definition.derived)
    derived: Mapping[str, Any] = field(default_factory=dict)
    # Material keys whose references the owning domain vouches for (a claim's invoices);
    # every other reference must name an upload of the applicant (backend.cases.materials)
    domain_refs: frozenset[str] = frozenset()


def latest_definition(c: Container, service_code: str) -> Definition:
    """The definition new cases of the service are submitted under; 422 for an unknown one."""
    try:
        return c.definitions.latest(service_code)
    except UnknownDefinition:
        raise UnknownService(service_code=service_code) from None


def _definition_for(c: Container, req: NewCase, channel: Channel) -> Definition:
    defn = latest_definition(c, req.service_code)
    if channel not in defn.channels:
        raise InvalidInput("该事项不能通过此渠道办理", code="CHANNEL_NOT_ALLOWED")
    owner = c.hooks.owner_of(defn.code)
    if owner is not None and req.origin != owner:
        raise InvalidInput("该事项须通过专门的申请入口提交", code="SERVICE_HAS_OWN_ENTRY")
    return defn


def _form_of(c: Container, defn: Definition, req: NewCase, channel: Channel) -> dict[str, Any]:
    """The checked form plus the facts the owning domain derived (only it may add them)."""
    form = checked_form(defn, req.form, channel.value)
    owner = c.hooks.owner_of(defn.code)
    if req.derived or defn.derived:
        if owner is None or set(req.derived) != set(defn.derived):
            raise RuntimeError(f"{defn.code}: derived facts {sorted(req.derived)} do not match")
        form |= dict(req.derived)
    if req.domain_refs and owner is None:
        raise RuntimeError(f"{defn.code}: only the owning domain vouches for its references")
    return form


def _delivery(
    c: Container, defn: Definition, method: str | None, address: str | None
) -> dict[str, Any]:
    allowed = [d.value for d in defn.issuance.deliveries]
    method = method or allowed[0]
    if method not in allowed:
        raise InvalidInput("该事项不支持此领取方式", code="DELIVERY_INVALID", allowed=allowed)
    if method == "mail":
        if not address or not 5 <= len(address.strip()) <= 120:
            raise InvalidInput("邮寄送达须填写有效的收件地址", code="DELIVERY_ADDRESS_REQUIRED")
        return {
            "delivery_method": method,
            "delivery_address_enc": c.pii.encrypt(address.strip(), ADDRESS_FIELD),
        }
    return {"delivery_method": method, "delivery_address_enc": ""}


def _new_number(c: Container) -> str:
    return f"YB{local_date(c):%Y%m%d}{secrets.randbelow(10**10):010d}"


@dataclass(frozen=True)
class _Filing:
    """Who files the case for whom, through which channel, and where it starts."""

    actor: Actor
    applicant: Person
    channel: Channel
    station: Station | None
    agent_name: str
    initial: CaseState


async def _columns(
    c: Container, req: NewCase, defn: Definition, form: dict[str, Any], filing: _Filing
) -> dict[str, Any]:
    """The new case's row, but its number."""
    channel = filing.channel.value
    plain, secret = split_form(defn, form)
    now = c.clock.now()
    account = await Account.filter(person_id=filing.applicant.id).values_list("id", flat=True)
    return {
        "service_code": defn.code,
        "definition_version": defn.version,
        "category": defn.category,
        "state": filing.initial.value,
        "version": 1,
        "channel": channel,
        "applicant": filing.applicant,
        "applicant_account_id": account[0] if account else None,
        "submitted_by_id": filing.actor.id,
        "agent_name": filing.agent_name,
        "station": filing.station,
        "form": plain,
        "form_secret": seal(c, secret),
        "amount": Decimal(form[defn.amount_field]) if defn.amount_field in form else None,
        "required_levels": required_review_levels(defn, facts_for(form, channel)),
        "created_at": now,
        "updated_at": now,
        **(start_clock(c, defn, now) if filing.initial is CaseState.SUBMITTED else {}),
        **_delivery(c, defn, req.delivery_method, req.delivery_address),
    }


async def submit_for(
    c: Container,
    actor: Actor,
    req: NewCase,
    *,
    applicant: Person,
    channel: Channel = Channel.APP,
    station: Station | None = None,
    agent_name: str = "",
    initial: CaseState = CaseState.SUBMITTED,
) -> Case:
    """Submit ``req`` for ``applicant``, filed by ``actor``, who may be someone else (a family
    member, a station clerk): the engine's one way to create a case.

    The caller has checked that ``actor`` may file for ``applicant``. The case starts in
    ``initial`` (``SUBMITTED``, or ``AWAITING_AUTHORISATION`` until the applicant confirms an
    assisted request); a submitted case is decided on the spot when 即受即办 applies.
    """
    defn = _definition_for(c, req, channel)
    form = _form_of(c, defn, req, channel)
    refs = await resolve(
        defn, req.materials, applicant_id=applicant.id, domain_refs=req.domain_refs
    )
    check_key_materials(defn, facts_for(form, channel.value), set(refs))
    filing = _Filing(actor, applicant, channel, station, agent_name, initial)
    row = await _columns(c, req, defn, form, filing)
    for _ in range(3):
        try:
            async with in_transaction():
                case = await Case.create(number=_new_number(c), **row)
                await _record_submission(c, case, defn, refs, filing)
            return case
        except IntegrityError:  # a case number collision: draw another
            continue
    raise Conflict("系统繁忙，请稍后重试", code="CASE_NUMBER_COLLISION")


async def _record_submission(
    c: Container, case: Case, defn: Definition, refs: Mapping[str, str], filing: _Filing
) -> None:
    await record(c, case, defn, refs)
    submitted = filing.initial is CaseState.SUBMITTED
    await record_event(
        c,
        case,
        "submit",
        filing.actor,
        source="",
        target=case.state,
        data={"channel": filing.channel.value, "definition_version": defn.version},
        citizen_text=(
            "申请已提交，等待受理" if submitted else "服务站已为您代办申请，请在“我的授权”中确认"
        ),
    )
    if submitted:
        await after_submitted(c, case, defn)


async def after_submitted(c: Container, case: Case, defn: Definition) -> None:
    """即受即办: decide on the spot when the definition's rule holds and nothing is missing."""
    form = full_form(c, case)
    provided = await provided_keys(case)
    key, other = missing_materials(defn, facts_for(form, case.channel), provided)
    if not is_instant(defn, facts_for(form, case.channel), len(key) + len(other)):
        return
    now = c.clock.now()
    await fire(c, case, defn, "instant_accept", SYSTEM_ACTOR, changes={"accepted_at": now})
    await fire(c, case, defn, "instant_approve", SYSTEM_ACTOR)
    await issue(c, case, defn)


async def submit(c: Container, principal: Principal, req: NewCase) -> Case:
    """A citizen applies from the app (掌办) for themselves."""
    actor = await actor_for(principal)
    if actor.person_id is None:
        raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
    person = await Person.get(id=actor.person_id)
    return await submit_for(c, actor, req, applicant=person)
