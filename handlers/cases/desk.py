"""Cases, stations (帮办代办) and the front desk (综合受理): assisted submission, the signed
authorisation form, the acceptance queue and decision."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic_ext.extensions.openapi import openapi

from backend.cases import acceptance, assisted, lists
from backend.cases.results import CaseDetail, CasePage
from backend.identity.models import Role
from handlers.cases import (
    SUBMISSION_REFUSALS,
    PageQuery,
    SubmitIn,
    VersionIn,
    actor,
    answer_case,
    bp,
)
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses.cases import CaseListOut, CaseOut
from handlers.schemas import ASSISTED_FORBIDDEN, ASSISTED_NOT_FOUND, ASSISTED_REFUSALS, AssistanceIn


class AssistedIn(SubmitIn, AssistanceIn):
    pass


class SignedFormIn(VersionIn):
    form_ref: str = Field(min_length=1, max_length=200)
    form_number: str = Field(min_length=1, max_length=64)


class AcceptanceIn(VersionIn):
    outcome: Literal["accept", "correct", "refuse"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


class StationCasesQuery(PageQuery):
    state: str | None = Field(default=None, max_length=24)


@bp.post("/station/cases")
@openapi.summary("服务站代办提交（帮办代办）")
@requires(Role.STATION_STAFF)
@idempotent
@body(AssistedIn)
@errors(403, *ASSISTED_FORBIDDEN)
@errors(404, *ASSISTED_NOT_FOUND)
@errors(422, *SUBMISSION_REFUSALS, *ASSISTED_REFUSALS)
@responds(CaseOut, status=201)
async def submit_assisted(request: Request, body: AssistedIn) -> CaseDetail:
    req = body.to_assistance().case(body.to_request())
    case = await assisted.submit_assisted(container(request), principal(request), req)
    return await answer_case(request, case)


@bp.get("/station/cases")
@openapi.summary("本服务站的办件")
@requires(Role.STATION_STAFF)
@query(StationCasesQuery)
@responds(CaseListOut)
async def station_cases(request: Request, query: StationCasesQuery) -> CasePage:
    result = await lists.station_cases(
        container(request), await actor(request), query.to_page(), query.state
    )
    return result


@bp.post("/cases/<case_id:int>/authorisation/form")
@openapi.summary("登记群众签署的代办授权书")
@requires(Role.STATION_STAFF)
@idempotent
@body(SignedFormIn)
@responds(CaseOut)
async def record_signed_form(request: Request, case_id: int, body: SignedFormIn) -> CaseDetail:
    case = await assisted.record_signed_form(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        form_ref=body.form_ref,
        form_number=body.form_number,
    )
    return await answer_case(request, case)


@bp.get("/acceptance/queue")
@openapi.summary("前台综合受理队列")
@requires(Role.STATION_STAFF, Role.REVIEWER)
@query(PageQuery)
@responds(CaseListOut)
async def acceptance_queue(request: Request, query: PageQuery) -> CasePage:
    result = await lists.acceptance_queue(container(request), await actor(request), query.to_page())
    return result


@bp.post("/cases/<case_id:int>/acceptance")
@openapi.summary("受理决定：受理、容缺受理、退回补正或不予受理")
@requires(Role.STATION_STAFF, Role.REVIEWER)
@idempotent
@body(AcceptanceIn)
@errors(409, "INVALID_STATE", "KEY_MATERIALS_MISSING")
@errors(422, "REASON_UNKNOWN")
@responds(CaseOut)
async def accept_case(request: Request, case_id: int, body: AcceptanceIn) -> CaseDetail:
    case = await acceptance.accept(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        outcome=body.outcome,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    return await answer_case(request, case)
