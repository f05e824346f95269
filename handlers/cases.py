"""Cases: citizen, station, front-desk, reviewer, supervisor and admin endpoints."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext.extensions.openapi import openapi

from backend.cases import (
    acceptance,
    access,
    applicant,
    assisted,
    catalogue,
    details,
    inbox,
    lists,
    queues,
    rating,
    review,
    submission,
)
from backend.cases.case_stats import READERS, case_statistics
from backend.cases.models import Case
from backend.errors import NotFound
from backend.identity.models import Role
from backend.vouchers.qr import render_svg
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses import (
    CaseDocument,
    CaseListOut,
    CaseOut,
    CaseStatsOut,
    CaseTimelineOut,
    EscalationsOut,
    MyInboxOut,
    MyPendingAuthorisationsOut,
    ReadMessageOut,
    ReviewQueueOut,
    ServiceListOut,
    TaskOut,
    VerifyDocumentOut,
)
from handlers.schemas import (
    ASSISTED_FORBIDDEN,
    ASSISTED_NOT_FOUND,
    ASSISTED_REFUSALS,
    AssistanceIn,
    Id,
    JsonInt,
    MaterialIn,
    ReviewCategoryFilter,
    ServiceCode,
    ServiceCodeFilter,
    Strict,
    StrictId,
    Version,
)

bp = Blueprint("cases")

STAFF = (Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


class SubmitIn(Strict):
    service_code: ServiceCode
    form: dict[str, Any]
    materials: list[MaterialIn] = Field(default_factory=list, max_length=30)
    delivery_method: Literal["app", "station", "mail"] | None = None
    delivery_address: str | None = Field(default=None, max_length=120)

    def to_request(self) -> submission.NewCase:
        return submission.NewCase(
            service_code=self.service_code,
            form=self.form,
            materials=[m.model_dump() for m in self.materials],
            delivery_method=self.delivery_method,
            delivery_address=self.delivery_address,
        )


class AssistedIn(SubmitIn, AssistanceIn):
    pass


class VersionIn(Strict):
    version: Version


class WithdrawIn(VersionIn):
    reason: str = Field(default="", max_length=200)


class AuthorisationIn(VersionIn):
    decision: Literal["confirm", "decline"]


class SignedFormIn(VersionIn):
    form_ref: str = Field(min_length=1, max_length=200)
    form_number: str = Field(min_length=1, max_length=64)


class AcceptanceIn(VersionIn):
    outcome: Literal["accept", "correct", "refuse"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


class ResubmitIn(VersionIn):
    form: dict[str, Any] | None = None
    materials: list[MaterialIn] = Field(default_factory=list, max_length=30)


class MaterialsIn(VersionIn):
    materials: list[MaterialIn] = Field(min_length=1, max_length=30)


class DecisionIn(Strict):
    case_version: Version
    decision: Literal["approve", "reject", "return"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


class ReassignIn(Strict):
    to_account_id: StrictId


class RatingIn(Strict):
    score: JsonInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=300)


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10000)
    size: int = Field(default=20, ge=1, le=100)

    def to_page(self) -> lists.Page:
        return lists.Page(self.page, self.size)


class StationCasesQuery(PageQuery):
    state: str | None = Field(default=None, max_length=24)


class QueueQuery(PageQuery):
    category: ReviewCategoryFilter | None = None
    service_code: ServiceCodeFilter | None = None
    station_id: Id | None = None
    overdue_only: bool = False
    mine: bool = False


class StatsQuery(BaseModel):
    """办件统计的查询参数（均可省略）。"""

    date_from: date | None = Field(
        default=None, description="提交日期起（含，本地日期 YYYY-MM-DD）；默认本年1月1日"
    )
    date_to: date | None = Field(default=None, description="提交日期止（含）；默认今天")
    group_by: Literal["channel", "service", "station", "period"] | None = Field(
        default=None, description="分组：channel 渠道、service 事项、station 服务站、period 周期"
    )
    period: Literal["day", "month", "year"] = Field(
        default="month", description="group_by=period 时的周期：day、month、year"
    )
    service_code: ServiceCodeFilter | None = Field(default=None, description="只统计该事项")
    station_id: Id | None = Field(default=None, description="只统计该服务站的办件")


# What a submission's form and service refuse, from the app or a station.
# What the generic submission refuses once the service code names a real service.
SUBMISSION_REFUSALS = (
    "CHANNEL_NOT_ALLOWED",
    "DELIVERY_ADDRESS_REQUIRED",
    "DELIVERY_INVALID",
    "FORM_INVALID",
    "KEY_MATERIALS_MISSING",
    "MATERIAL_INVALID",
    "MATERIAL_NOT_FOUND",
    "MATERIAL_UNKNOWN",
    "SERVICE_HAS_OWN_ENTRY",
    "SERVICE_UNKNOWN",
)


async def _actor(request: Request) -> access.Actor:
    return await access.actor_for(principal(request))


async def _detail(request: Request, case: Case, status: int = 200) -> HTTPResponse:
    view = await details.case_detail(container(request), await _actor(request), case.id)
    return json(view, status=status)


# -- catalogue and public verification ------------------------------------------------------


@bp.get("/services")
@openapi.summary("可办理的服务事项及其材料清单、办理时限")
@responds(ServiceListOut)
async def list_services(request: Request) -> HTTPResponse:
    return json({"items": catalogue.list_services(container(request))})


@bp.get("/case-documents/verify/<code:str>")
@openapi.summary("核验办件结果文书（按核验码，公开）")
@errors(404, "DOCUMENT_NOT_FOUND")
@responds(VerifyDocumentOut)
async def verify_document(request: Request, code: str) -> HTTPResponse:
    if len(code) > 20:  # the longest code issued
        raise NotFound("验证码无效，未找到对应的办理结果", code="DOCUMENT_NOT_FOUND")
    return json(await details.verify_document(code))


# -- citizens -------------------------------------------------------------------------------


@bp.post("/cases")
@openapi.summary("提交办件申请（掌上办）")
@requires(Role.CITIZEN)
@idempotent
@body(SubmitIn)
@errors(403, "BINDING_REQUIRED")
@errors(422, *SUBMISSION_REFUSALS)
@responds(CaseOut, status=201)
async def submit_case(request: Request, body: SubmitIn) -> HTTPResponse:
    case = await submission.submit(container(request), principal(request), body.to_request())
    return await _detail(request, case, 201)


@bp.get("/cases")
@openapi.summary("我的办件")
@requires(Role.CITIZEN)
@query(PageQuery)
@responds(CaseListOut)
async def my_cases(request: Request, query: PageQuery) -> HTTPResponse:
    return json(await lists.my_cases(container(request), await _actor(request), query.to_page()))


@bp.get("/cases/<case_id:int>")
@openapi.summary("办件详情与办理进度")
@requires()
@errors(404, "CASE_NOT_FOUND")
@responds(CaseOut)
async def get_case(request: Request, case_id: int) -> HTTPResponse:
    view = await details.case_detail(container(request), await _actor(request), case_id)
    return json(view)


@bp.get("/cases/<case_id:int>/timeline")
@openapi.summary("办件时间线（每一步的处理记录）")
@requires()
@responds(CaseTimelineOut)
async def case_timeline(request: Request, case_id: int) -> HTTPResponse:
    items = await details.timeline(container(request), await _actor(request), case_id)
    return json({"items": items})


@bp.post("/cases/<case_id:int>/withdraw")
@openapi.summary("撤回申请（审核开始前）")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(WithdrawIn)
@errors(409, "REVIEW_STARTED")
@responds(CaseOut)
async def withdraw_case(request: Request, case_id: int, body: WithdrawIn) -> HTTPResponse:
    case = await applicant.withdraw(
        container(request), principal(request), case_id, version=body.version, reason=body.reason
    )
    return await _detail(request, case)


@bp.post("/cases/<case_id:int>/resubmit")
@openapi.summary("补正后重新提交")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(ResubmitIn)
@errors(409, "INVALID_STATE")
@responds(CaseOut)
async def resubmit_case(request: Request, case_id: int, body: ResubmitIn) -> HTTPResponse:
    case = await applicant.resubmit(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        form=body.form,
        materials=[m.model_dump() for m in body.materials],
    )
    return await _detail(request, case)


@bp.post("/cases/<case_id:int>/materials")
@openapi.summary("补充材料（容缺受理或退回补充）")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(MaterialsIn)
@errors(409, "NO_MATERIALS_EXPECTED")
@responds(CaseOut)
async def supply_materials(request: Request, case_id: int, body: MaterialsIn) -> HTTPResponse:
    case = await applicant.supply_materials(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        materials=[m.model_dump() for m in body.materials],
    )
    return await _detail(request, case)


@bp.post("/cases/<case_id:int>/authorisation")
@openapi.summary("确认或拒绝服务站的代办授权请求")
@requires(Role.CITIZEN)
@idempotent
@body(AuthorisationIn)
@errors(404, "CASE_NOT_FOUND")
@responds(CaseOut)
async def decide_authorisation(
    request: Request, case_id: int, body: AuthorisationIn
) -> HTTPResponse:
    case = await assisted.decide_authorisation(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        confirm=body.decision == "confirm",
    )
    return await _detail(request, case)


@bp.post("/cases/<case_id:int>/rating")
@openapi.summary("评价办件（好差评，每件一次）")
@requires(Role.CITIZEN)
@body(RatingIn)
@errors(409, "ALREADY_RATED", "NOT_RATABLE")
@responds(CaseOut)
async def rate_case(request: Request, case_id: int, body: RatingIn) -> HTTPResponse:
    case = await rating.rate(
        container(request), principal(request), case_id, score=body.score, comment=body.comment
    )
    return await _detail(request, case)


@bp.get("/cases/<case_id:int>/document")
@openapi.summary("办件结果文书")
@requires()
@responds(CaseDocument)
async def case_document(request: Request, case_id: int) -> HTTPResponse:
    doc = await details.document_for(await _actor(request), case_id)
    return json(details.document_view(doc))


@bp.get("/cases/<case_id:int>/document/qr.svg")
@openapi.summary("办件结果文书核验二维码（SVG）")
@requires()
@responds(None, binary_types=("image/svg+xml",))
async def case_document_qr(request: Request, case_id: int) -> HTTPResponse:
    doc = await details.document_for(await _actor(request), case_id)
    url = request.url_for("cases.verify_document", code=doc.verification_code)
    image = await asyncio.to_thread(render_svg, url)
    return raw(image.content, content_type=image.content_type)


@bp.get("/me/inbox")
@openapi.summary("我的消息")
@requires(Role.CITIZEN)
@query(PageQuery)
@responds(MyInboxOut)
async def my_inbox(request: Request, query: PageQuery) -> HTTPResponse:
    return json(await inbox.inbox(await _actor(request), query.to_page()))


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
async def my_pending_authorisations(request: Request) -> HTTPResponse:
    items = await lists.pending_authorisations(container(request), await _actor(request))
    return json({"items": items})


# -- stations (帮办代办, 窗口) and front desk ------------------------------------------------


@bp.post("/station/cases")
@openapi.summary("服务站代办提交（帮办代办）")
@requires(Role.STATION_STAFF)
@idempotent
@body(AssistedIn)
@errors(403, *ASSISTED_FORBIDDEN)
@errors(404, *ASSISTED_NOT_FOUND)
@errors(422, *SUBMISSION_REFUSALS, *ASSISTED_REFUSALS)
@responds(CaseOut, status=201)
async def submit_assisted(request: Request, body: AssistedIn) -> HTTPResponse:
    req = body.to_assistance().case(body.to_request())
    case = await assisted.submit_assisted(container(request), principal(request), req)
    return await _detail(request, case, 201)


@bp.get("/station/cases")
@openapi.summary("本服务站的办件")
@requires(Role.STATION_STAFF)
@query(StationCasesQuery)
@responds(CaseListOut)
async def station_cases(request: Request, query: StationCasesQuery) -> HTTPResponse:
    result = await lists.station_cases(
        container(request), await _actor(request), query.to_page(), query.state
    )
    return json(result)


@bp.post("/cases/<case_id:int>/authorisation/form")
@openapi.summary("登记群众签署的代办授权书")
@requires(Role.STATION_STAFF)
@idempotent
@body(SignedFormIn)
@responds(CaseOut)
async def record_signed_form(request: Request, case_id: int, body: SignedFormIn) -> HTTPResponse:
    case = await assisted.record_signed_form(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        form_ref=body.form_ref,
        form_number=body.form_number,
    )
    return await _detail(request, case)


@bp.get("/acceptance/queue")
@openapi.summary("前台综合受理队列")
@requires(Role.STATION_STAFF, Role.REVIEWER)
@query(PageQuery)
@responds(CaseListOut)
async def acceptance_queue(request: Request, query: PageQuery) -> HTTPResponse:
    result = await lists.acceptance_queue(
        container(request), await _actor(request), query.to_page()
    )
    return json(result)


@bp.post("/cases/<case_id:int>/acceptance")
@openapi.summary("受理决定：受理、容缺受理、退回补正或不予受理")
@requires(Role.STATION_STAFF, Role.REVIEWER)
@idempotent
@body(AcceptanceIn)
@errors(409, "INVALID_STATE", "KEY_MATERIALS_MISSING")
@errors(422, "REASON_UNKNOWN")
@responds(CaseOut)
async def accept_case(request: Request, case_id: int, body: AcceptanceIn) -> HTTPResponse:
    case = await acceptance.accept(
        container(request),
        principal(request),
        case_id,
        version=body.version,
        outcome=body.outcome,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    return await _detail(request, case)


# -- review (分类审核) and supervision ---------------------------------------------------------


@bp.get("/review/queue")
@openapi.summary("后台分类审核队列（超期优先，可按事项、服务站筛选）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@query(QueueQuery)
@errors(422, "CATEGORY_NOT_ALLOWED", "PAGE_TOO_DEEP")
@responds(ReviewQueueOut)
async def review_queue(request: Request, query: QueueQuery) -> HTTPResponse:
    f = queues.QueueFilter(
        query.category, query.service_code, query.station_id, query.overdue_only, query.mine
    )
    result = await queues.reviewer_queue(
        container(request), await _actor(request), f, query.to_page()
    )
    return json(result)


@bp.post("/review/tasks/<task_id:int>/claim")
@openapi.summary("领取审核任务（同一时间仅一人持有）")
@requires(Role.REVIEWER)
@idempotent
@responds(TaskOut)
async def claim_task(request: Request, task_id: int) -> HTTPResponse:
    task = await review.claim(container(request), principal(request), task_id)
    return json(details.task_view(task))


@bp.post("/review/tasks/<task_id:int>/release")
@openapi.summary("释放审核任务")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@responds(TaskOut)
async def release_task(request: Request, task_id: int) -> HTTPResponse:
    task = await review.release(container(request), principal(request), task_id)
    return json(details.task_view(task))


@bp.post("/review/tasks/<task_id:int>/reassign")
@openapi.summary("改派审核任务（科长）")
@requires(Role.SUPERVISOR)
@idempotent
@body(ReassignIn)
@errors(422, "ASSIGNEE_INVALID")
@responds(TaskOut)
async def reassign_task(request: Request, task_id: int, body: ReassignIn) -> HTTPResponse:
    task = await review.reassign(
        container(request), principal(request), task_id, to_account_id=body.to_account_id
    )
    return json(details.task_view(task))


@bp.post("/review/tasks/<task_id:int>/decision")
@openapi.summary("审核决定：通过、不通过或退回补充")
@requires(Role.REVIEWER)
@idempotent
@body(DecisionIn)
@errors(403, "FOUR_EYES")
@errors(409, "CASE_CHANGED", "SERVICE_NOT_READY", "TASK_NOT_HELD", "VERDICTS_REQUIRED")
@errors(422, "REASON_UNKNOWN")
@responds(CaseOut)
async def decide_task(request: Request, task_id: int, body: DecisionIn) -> HTTPResponse:
    case = await review.decide(
        container(request),
        principal(request),
        task_id,
        case_version=body.case_version,
        decision=body.decision,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    return await _detail(request, case)


@bp.get("/supervisor/escalations")
@openapi.summary("超期升级队列（科长）")
@requires(Role.SUPERVISOR)
@query(PageQuery)
@responds(EscalationsOut)
async def escalations(request: Request, query: PageQuery) -> HTTPResponse:
    return json(await queues.escalation_queue(container(request), query.to_page()))


@bp.get("/admin/case-stats")
@openapi.summary("办件统计：渠道（掌办率）、按时办结率、平均用时、超期、评价")
@openapi.description(
    "统计提交日期在区间内的办件。completed 只计已办结出件（issued）的办件，按时办结率、平均用时"
    "也只按已出件的计算；撤回、不予受理、不予批准、终止的计入 ended_without_issue。"
    "参数均可省略：date_from、date_to（本地日期，默认本年1月1日至今天）、group_by（channel、"
    "service、station、period）、period（day、month、year）、service_code、station_id。"
)
@requires(*READERS)
@query(StatsQuery)
@errors(
    422,
    "DATE_RANGE_INVALID",
    "DATE_RANGE_TOO_LONG",
    "GROUP_BY_INVALID",
    "PERIOD_INVALID",
    "TOO_MANY_PERIODS",
)
@responds(CaseStatsOut)
async def case_stats(request: Request, query: StatsQuery) -> HTTPResponse:
    result = await case_statistics(container(request), principal(request), **query.model_dump())
    return json(result)
