"""Cases, back office: the review queue and tasks (分类审核), escalations and statistics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.cases import details, queues, review
from backend.cases.case_stats import READERS, case_statistics
from backend.cases.results import CaseDetail, ReviewQueue, TaskPage, TaskSummary
from backend.identity.models import Role
from handlers.cases import PageQuery, StatsQuery, actor, answer_case, bp
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses.cases import CaseOut, CaseStatsOut, EscalationsOut, ReviewQueueOut, TaskOut
from handlers.schemas import Id, ReviewCategoryFilter, ServiceCodeFilter, Strict, StrictId, Version


class DecisionIn(Strict):
    case_version: Version
    decision: Literal["approve", "reject", "return"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


class ReassignIn(Strict):
    to_account_id: StrictId


class QueueQuery(PageQuery):
    category: ReviewCategoryFilter | None = None
    service_code: ServiceCodeFilter | None = None
    station_id: Id | None = None
    overdue_only: bool = False
    mine: bool = False


@bp.get("/review/queue")
@openapi.summary("后台分类审核队列（超期优先，可按事项、服务站筛选）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@query(QueueQuery)
@errors(422, "CATEGORY_NOT_ALLOWED", "PAGE_TOO_DEEP")
@responds(ReviewQueueOut)
async def review_queue(request: Request, query: QueueQuery) -> ReviewQueue:
    f = queues.QueueFilter(
        query.category, query.service_code, query.station_id, query.overdue_only, query.mine
    )
    result = await queues.reviewer_queue(
        container(request), await actor(request), f, query.to_page()
    )
    return result


@bp.post("/review/tasks/<task_id:int>/claim")
@openapi.summary("领取审核任务（同一时间仅一人持有）")
@requires(Role.REVIEWER)
@idempotent
@responds(TaskOut)
async def claim_task(request: Request, task_id: int) -> TaskSummary:
    task = await review.claim(container(request), principal(request), task_id)
    return details.task_view(task)


@bp.post("/review/tasks/<task_id:int>/release")
@openapi.summary("释放审核任务")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@responds(TaskOut)
async def release_task(request: Request, task_id: int) -> TaskSummary:
    task = await review.release(container(request), principal(request), task_id)
    return details.task_view(task)


@bp.post("/review/tasks/<task_id:int>/reassign")
@openapi.summary("改派审核任务（科长）")
@requires(Role.SUPERVISOR)
@idempotent
@body(ReassignIn)
@errors(422, "ASSIGNEE_INVALID")
@responds(TaskOut)
async def reassign_task(request: Request, task_id: int, body: ReassignIn) -> TaskSummary:
    task = await review.reassign(
        container(request), principal(request), task_id, to_account_id=body.to_account_id
    )
    return details.task_view(task)


@bp.post("/review/tasks/<task_id:int>/decision")
@openapi.summary("审核决定：通过、不通过或退回补充")
@requires(Role.REVIEWER)
@idempotent
@body(DecisionIn)
@errors(403, "FOUR_EYES")
@errors(409, "CASE_CHANGED", "SERVICE_NOT_READY", "TASK_NOT_HELD", "VERDICTS_REQUIRED")
@errors(422, "REASON_UNKNOWN")
@responds(CaseOut)
async def decide_task(request: Request, task_id: int, body: DecisionIn) -> CaseDetail:
    case = await review.decide(
        container(request),
        principal(request),
        task_id,
        case_version=body.case_version,
        decision=body.decision,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    return await answer_case(request, case)


@bp.get("/supervisor/escalations")
@openapi.summary("超期升级队列（科长）")
@requires(Role.SUPERVISOR)
@query(PageQuery)
@responds(EscalationsOut)
async def escalations(request: Request, query: PageQuery) -> TaskPage:
    return await queues.escalation_queue(container(request), query.to_page())


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
