"""帮办代办 and window applications: station staff submit for a citizen, on the authority of a
signed form or of the citizen's confirmation in the app."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from backend.cases.access import Actor, actor_for, case_to_act_on
from backend.cases.engine import fire
from backend.cases.errors import ItemNotDelegated
from backend.cases.materials import attach_form
from backend.cases.models import (
    AuthorisationMethod,
    AuthorisationStatus,
    Case,
    CaseAuthorisation,
)
from backend.cases.policy import definition_of
from backend.cases.submission import NewCase, after_submitted, latest_definition, submit_for
from backend.cases.time_limits import start_clock
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity.persons import find_person
from backend.identity.principal import Principal
from backend.stations.models import Station
from workflows.definition import CaseState, Channel


@dataclass(frozen=True)
class AssistedCase:
    request: NewCase
    applicant_id_number: str
    channel: Channel = Channel.STATION
    agent_name: str = ""
    authorisation_method: AuthorisationMethod | None = None
    form_ref: str = ""
    form_number: str = ""


@dataclass(frozen=True)
class Assistance:
    """Who files for whom, and on what authority (帮办代办), apart from the request itself."""

    applicant_id_number: str
    channel: Channel = Channel.STATION
    agent_name: str = ""
    authorisation_method: AuthorisationMethod | None = None
    form_ref: str = ""
    form_number: str = ""

    def case(self, request: NewCase) -> AssistedCase:
        return AssistedCase(request=request, **vars(self))


async def assisting_station(c: Container, principal: Principal, service_code: str) -> Station:
    """The clerk's station, when the service is among the items delegated to it."""
    if principal.station_id is None:
        raise Forbidden("账号未关联服务站", code="NO_STATION")
    station = await Station.get(id=principal.station_id)
    defn = latest_definition(c, service_code)
    if defn.delegation_item not in (station.delegated_items or []):
        raise ItemNotDelegated(item=defn.delegation_item)
    return station


def _initial_state(req: AssistedCase) -> CaseState:
    """A station request needs the applicant's authorisation: a signed form recorded now, or
    a confirmation in the app (the case waits until then). At a window the applicant is
    present in person."""
    if req.channel is not Channel.STATION:
        return CaseState.SUBMITTED
    if req.authorisation_method is None:
        raise InvalidInput("帮办代办须取得申请人授权", code="AUTHORISATION_REQUIRED")
    if req.authorisation_method is AuthorisationMethod.SIGNED_FORM and not (
        req.form_ref and req.form_number
    ):
        raise InvalidInput("请上传签字的授权委托书并填写编号", code="AUTHORISATION_FORM_REQUIRED")
    if req.authorisation_method is AuthorisationMethod.APP:
        return CaseState.AWAITING_AUTHORISATION
    return CaseState.SUBMITTED


async def _record_authorisation(c: Container, case: Case, actor: Actor, req: AssistedCase) -> None:
    granted = req.authorisation_method is AuthorisationMethod.SIGNED_FORM
    now = c.clock.now()
    await CaseAuthorisation.create(
        case=case,
        method=req.authorisation_method,
        status=AuthorisationStatus.GRANTED if granted else AuthorisationStatus.PENDING,
        form_ref=req.form_ref,
        form_number=req.form_number,
        recorded_by_id=actor.id if granted else None,
        decided_by_id=actor.id if granted else None,
        decided_at=now if granted else None,
        created_at=now,
    )
    if req.form_ref:
        await attach_form(case, req.form_ref)


async def submit_assisted(c: Container, principal: Principal, req: AssistedCase) -> Case:
    """Station staff submit for a citizen (帮办代办) or record a window application."""
    actor = await actor_for(principal)
    station = await assisting_station(c, principal, req.request.service_code)
    applicant = await find_person(c, req.applicant_id_number.strip().upper())
    if applicant is None:
        raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
    initial = _initial_state(req)
    case = await submit_for(
        c,
        actor,
        req.request,
        applicant=applicant,
        channel=req.channel,
        station=station,
        agent_name=req.agent_name,
        initial=initial,
    )
    if req.channel is Channel.STATION:
        await _record_authorisation(c, case, actor, req)
    return await Case.get(id=case.id)


async def decide_authorisation(
    c: Container, principal: Principal, case_id: int, *, version: int, confirm: bool
) -> Case:
    """The applicant confirms (or declines) an assisted request in the app."""
    actor, case = await case_to_act_on(principal, case_id, version)
    defn = definition_of(c, case)
    now = c.clock.now()
    async with in_transaction():
        decided = await CaseAuthorisation.filter(
            case_id=case.id, status=AuthorisationStatus.PENDING
        ).update(
            status=AuthorisationStatus.GRANTED if confirm else AuthorisationStatus.DECLINED,
            decided_by_id=actor.id,
            decided_at=now,
        )
        if confirm:
            await fire(c, case, defn, "authorise", actor, changes=start_clock(c, defn, now))
            if not decided:
                raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
            await after_submitted(c, case, defn)
        else:
            await fire(c, case, defn, "decline_authorisation", actor)
            if not decided:
                raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
    return case


async def record_signed_form(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    form_ref: str,
    form_number: str,
) -> Case:
    """The clerk uploads the applicant's signed authorisation form for a waiting request."""
    actor, case = await case_to_act_on(principal, case_id, version)
    defn = definition_of(c, case)
    now = c.clock.now()
    async with in_transaction():
        await fire(
            c,
            case,
            defn,
            "authorise",
            actor,
            changes=start_clock(c, defn, now),
            note=f"授权委托书 {form_number}",
        )
        updated = await CaseAuthorisation.filter(
            case_id=case.id, status=AuthorisationStatus.PENDING
        ).update(
            status=AuthorisationStatus.GRANTED,
            method=AuthorisationMethod.SIGNED_FORM,
            form_ref=form_ref,
            form_number=form_number,
            recorded_by_id=actor.id,
            decided_by_id=actor.id,
            decided_at=now,
        )
        if not updated:
            raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
        await attach_form(case, form_ref)
        await after_submitted(c, case, defn)
    return case
