"""Reviewer workbench (分类审核): the queue of the reviewer's categories, claim and release, a
task with its case, and for a reimbursement claim each invoice image beside the OCR proposal,
every field editable, the checks' flags and the calculation recomputed by the claims domain on
every correction; the decision (approve, reject with a coded reason, return for supplement)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import access, lists, queues, review
from backend.cases.results import CaseDetail, TaskSummary
from backend.claims import access as claim_access
from backend.claims import desk as claim_desk
from backend.claims import review as claim_review
from backend.claims import views as claim_views
from backend.claims.checks import InvoiceValues
from backend.identity.models import Role
from handlers.console.frontdesk import case_context
from handlers.console.web import (
    container,
    is_htmx,
    page,
    page_response,
    parse_form,
    principal,
)

bp = Blueprint("console_review", url_prefix="/console/review")

QUEUE_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
INVOICE_FIELDS = (
    ("invoice_code", "票据代码"),
    ("invoice_number", "票据号码"),
    ("issue_date", "开票日期"),
    ("payer_name", "交款人"),
    ("hospital_name", "医疗机构"),
    ("visit_type", "就诊类型"),
    ("institution_level", "医院等级"),
    ("care_region_code", "就医地区划代码"),
    ("total_amount", "合计金额"),
    ("self_expense", "自费"),
    ("fund_paid", "统筹基金支付"),
    ("other_paid", "其他支付"),
)
# which check flags belong beside which field
FLAG_FIELDS = {
    "PAYER_MISMATCH": "payer_name",
    "DUPLICATE_INVOICE": "invoice_number",
    "DATE_INVALID": "issue_date",
    "DATE_IN_FUTURE": "issue_date",
    "OUT_OF_WINDOW": "issue_date",
    "FUND_PAID": "fund_paid",
}


class DecisionForm(BaseModel):
    case_version: int = Field(ge=1)
    decision: Literal["approve", "reject", "return"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


@bp.get("", strict_slashes=False)
@page(*QUEUE_ROLES)
async def queue(request: Request) -> HTTPResponse:
    c = container(request)
    actor = await access.actor_for(principal(request))
    overdue = request.args.get("overdue") == "1"
    f = queues.QueueFilter(overdue_only=overdue)
    result = await queues.reviewer_queue(c, actor, f, lists.Page(1, 50))
    mine = None
    if principal(request).role is Role.REVIEWER:
        mine = await queues.reviewer_queue(
            c, actor, queues.QueueFilter(mine=True), lists.Page(1, 50), with_total=False
        )
    return await page_response(request, "review_queue.html", queue=result, mine=mine)


@bp.post("/tasks/<task_id:int>/claim")
@page(Role.REVIEWER)
async def claim_task(request: Request, task_id: int) -> HTTPResponse:
    task = await review.claim(container(request), principal(request), task_id)
    return redirect(f"/console/review/cases/{task.case_id}", status=303)


@bp.post("/tasks/<task_id:int>/release")
@page(*QUEUE_ROLES)
async def release_task(request: Request, task_id: int) -> HTTPResponse:
    await review.release(container(request), principal(request), task_id)
    return redirect("/console/review", status=303)


def _held_task(case: CaseDetail, account_id: int) -> TaskSummary | None:
    for task in case.tasks:
        if task.status == "claimed" and task.holder_id == account_id:
            return task
    return None


async def _claim_review(request: Request, case_id: int) -> dict[str, Any] | None:
    c = container(request)
    found = await claim_desk.claim_of_case(c, principal(request), case_id)
    if found is None:
        return None
    review = await claim_views.review_view(c, found)
    for inv in review["invoices"]:
        proposed = {k: (v or {}).get("value") for k, v in inv["proposal"]["fields"].items()}
        values = dict(inv["confirmed"] or proposed)
        values.setdefault("care_region_code", inv["proposal"]["suggested"]["care_region_code"])
        inv["values"] = values
        inv["confidence"] = {
            k: (v or {}).get("confidence") for k, v in inv["proposal"]["fields"].items()
        }
        inv["field_flags"] = {}
        inv["other_flags"] = []
        for flag in inv["flags"] or []:
            field = FLAG_FIELDS.get(flag["code"])
            if field:
                inv["field_flags"].setdefault(field, []).append(flag)
            else:
                inv["other_flags"].append(flag)
    return review


@bp.get("/cases/<case_id:int>")
@page(*QUEUE_ROLES)
async def task_page(request: Request, case_id: int) -> HTTPResponse:
    context = await case_context(request, case_id)
    held = _held_task(context["case"], principal(request).account_id)
    return await page_response(
        request,
        "review_task.html",
        held=held,
        review=await _claim_review(request, case_id),
        fields=INVOICE_FIELDS,
        **context,
    )


@bp.post("/claims/<claim_id:int>/invoices/<invoice_id:int>")
@page(Role.REVIEWER)
async def confirm_invoice(request: Request, claim_id: int, invoice_id: int) -> HTTPResponse:
    """The reviewer's values for one invoice; the claims domain re-runs its checks and the
    calculation. Answers with the refreshed claim panel (htmx) or the page."""
    c = container(request)
    p = principal(request)
    values: InvoiceValues = parse_form(request, InvoiceValues)
    await claim_review.confirm_invoice(c, p, claim_id, invoice_id, values)
    claim = await claim_access.load_claim(c, p, claim_id)
    case_id = claim.case_id
    assert case_id is not None  # a claim a reviewer confirms is under review: it has its case
    if not is_htmx(request):
        return redirect(f"/console/review/cases/{case_id}", status=303)
    context = await case_context(request, case_id)
    return await page_response(
        request,
        "_claim_review.html",
        review=await _claim_review(request, case_id),
        fields=INVOICE_FIELDS,
        held=_held_task(context["case"], p.account_id),
        oob=True,
        **context,
    )


@bp.post("/tasks/<task_id:int>/decision")
@page(Role.REVIEWER)
async def decide(request: Request, task_id: int) -> HTTPResponse:
    form: DecisionForm = parse_form(request, DecisionForm)
    case = await review.decide(
        container(request),
        principal(request),
        task_id,
        case_version=form.case_version,
        decision=form.decision,
        reason_code=form.reason_code or None,
        reason_text=form.reason_text,
    )
    return redirect(f"/console/review/cases/{case.id}?decided=1", status=303)
