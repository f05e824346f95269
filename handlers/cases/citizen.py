"""Cases, citizens: submit, follow, withdraw, correct, confirm a station's assistance, rate;
the inbox."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext.extensions.openapi import openapi

from backend.cases import applicant, assisted, details, inbox, lists, rating, submission
from backend.cases.results import CaseDetail, CasePage, CaseSummary, Inbox, IssuedDocument
from backend.identity.models import Role
from backend.vouchers.qr import render_svg
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
from handlers.responses.cases import (
    CaseDocument,
    CaseListOut,
    CaseOut,
    CaseTimelineOut,
    MyInboxOut,
    MyPendingAuthorisationsOut,
    ReadMessageOut,
)
from handlers.schemas import JsonInt, MaterialIn, Strict


class WithdrawIn(VersionIn):
    reason: str = Field(default="", max_length=200)


class AuthorisationIn(VersionIn):
    decision: Literal["confirm", "decline"]


class ResubmitIn(VersionIn):
    form: dict[str, Any] | None = None
    materials: list[MaterialIn] = Field(default_factory=list, max_length=30)


class MaterialsIn(VersionIn):
    materials: list[MaterialIn] = Field(min_length=1, max_length=30)


class RatingIn(Strict):
    score: JsonInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=300)


@bp.post("/cases")
@openapi.summary("提交办件申请（掌上办）")
@requires(Role.CITIZEN)
@idempotent
@body(SubmitIn)
@errors(403, "BINDING_REQUIRED")
@errors(422, *SUBMISSION_REFUSALS)
@responds(CaseOut, status=201)
async def submit_case(request: Request, body: SubmitIn) -> CaseDetail:
    case = await submission.submit(container(request), principal(request), body.to_request())
    return await answer_case(request, case)


@bp.get("/cases")
@openapi.summary("我的办件")
@requires(Role.CITIZEN)
@query(PageQuery)
@responds(CaseListOut)
async def my_cases(request: Request, query: PageQuery) -> CasePage:
    return await lists.my_cases(container(request), await actor(request), query.to_page())


@bp.get("/cases/<case_id:int>")
@openapi.summary("办件详情与办理进度")
@requires()
@errors(404, "CASE_NOT_FOUND")
@responds(CaseOut)
async def get_case(request: Request, case_id: int) -> CaseDetail:
    view = await details.case_detail(container(request), await actor(request), case_id)
    return view


@bp.get("/cases/<case_id:int>/timeline")
@openapi.summary("办件时间线（每一步的处理记录）")
@requires()
@responds(CaseTimelineOut)
async def case_timeline(request: Request, case_id: int) -> HTTPResponse:
    items = await details.timeline(container(request), await actor(request), case_id)
    return json({"items": items})


@bp.post("/cases/<case_id:int>/withdraw")
@openapi.summary("撤回申请（审核开始前）")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(WithdrawIn)
@errors(409, "REVIEW_STARTED")
@responds(CaseOut)
async def withdraw_case(request: Request, case_id: int, body: WithdrawIn) -> CaseDetail:
    case = await applicant.withdraw(
        container(request), principal(request), case_id, version=body.version, reason=body.reason
    )
    return await answer_case(request, case)


@bp.post("/cases/<case_id:int>/resubmit")
@openapi.summary("补正后重新提交")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(ResubmitIn)
@errors(409, "INVALID_STATE")
@responds(CaseOut)
async def resubmit_case(request: Request, case_id: int, body: ResubmitIn) -> CaseDetail:
    case = await applicant.resubmit(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        form=body.form,
        materials=[m.model_dump() for m in body.materials],
    )
    return await answer_case(request, case)


@bp.post("/cases/<case_id:int>/materials")
@openapi.summary("补充材料（容缺受理或退回补充）")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(MaterialsIn)
@errors(409, "NO_MATERIALS_EXPECTED")
@responds(CaseOut)
async def supply_materials(request: Request, case_id: int, body: MaterialsIn) -> CaseDetail:
    case = await applicant.supply_materials(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        materials=[m.model_dump() for m in body.materials],
    )
    return await answer_case(request, case)


@bp.post("/cases/<case_id:int>/authorisation")
@openapi.summary("确认或拒绝服务站的代办授权请求")
@requires(Role.CITIZEN)
@idempotent
@body(AuthorisationIn)
@errors(404, "CASE_NOT_FOUND")
@responds(CaseOut)
async def decide_authorisation(request: Request, case_id: int, body: AuthorisationIn) -> CaseDetail:
    case = await assisted.decide_authorisation(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        confirm=body.decision == "confirm",
    )
    return await answer_case(request, case)


@bp.post("/cases/<case_id:int>/rating")
@openapi.summary("评价办件（好差评，每件一次）")
@requires(Role.CITIZEN)
@body(RatingIn)
@errors(409, "ALREADY_RATED", "NOT_RATABLE")
@responds(CaseOut)
async def rate_case(request: Request, case_id: int, body: RatingIn) -> CaseDetail:
    case = await rating.rate(
        container(request), principal(request), case_id, score=body.score, comment=body.comment
    )
    return await answer_case(request, case)


@bp.get("/cases/<case_id:int>/document")
@openapi.summary("办件结果文书")
@requires()
@responds(CaseDocument)
async def case_document(request: Request, case_id: int) -> IssuedDocument:
    doc = await details.document_for(await actor(request), case_id)
    return details.document_view(doc)


@bp.get("/cases/<case_id:int>/document/qr.svg")
@openapi.summary("办件结果文书核验二维码（SVG）")
@requires()
@responds(None, binary_types=("image/svg+xml",))
async def case_document_qr(request: Request, case_id: int) -> HTTPResponse:
    doc = await details.document_for(await actor(request), case_id)
    url = request.url_for("cases.verify_document", code=doc.verification_code)
    image = await asyncio.to_thread(render_svg, url)
    return raw(image.content, content_type=image.content_type)


@bp.get("/me/inbox")
@openapi.summary("我的消息")
@requires(Role.CITIZEN)
@query(PageQuery)
@responds(MyInboxOut)
async def my_inbox(request: Request, query: PageQuery) -> Inbox:
    return await inbox.inbox(await actor(request), query.to_page())


@bp.post("/me/inbox/<message_id:int>/read")
@openapi.summary("标记消息为已读")
@requires(Role.CITIZEN)
@responds(ReadMessageOut)
async def read_message(request: Request, message_id: int) -> HTTPResponse:
    await inbox.mark_read(container(request), principal(request), message_id)
    return json({"read": True})


@bp.get("/me/case-authorisations")
@openapi.summary("待我确认的代办授权")
@requires(Role.CITIZEN)
@responds(MyPendingAuthorisationsOut)
async def my_pending_authorisations(request: Request) -> dict[str, list[CaseSummary]]:
    items = await lists.pending_authorisations(container(request), await actor(request))
    return {"items": items}
