"""Reimbursement claims (零星报销): citizens, station clerks, reviewers and finance.

Uploads are ``multipart/form-data`` with one part named ``file`` (a JPEG, PNG or PDF); the
type is recognised from the content. The body is refused with 413 before the multipart parts
are looked at when it is larger than the configured limit (plus the multipart envelope).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext.extensions.openapi import openapi

from backend.claims import access, assessment, drafts, payout, review, submission, views
from backend.claims.checks import InvoiceValues
from backend.claims.results import CatalogueSearch, ClaimView, CorrectionStats, Payout
from backend.clock import local_today
from backend.errors import InvalidInput
from backend.identity.models import Role
from config.policy import ItemClass
from handlers.contract import errors, multipart, responds
from handlers.idempotency import idempotent
from handlers.request import (
    body,
    container,
    principal,
    query,
    requires,
    upload_errors,
    uploaded_file,
)
from handlers.responses.claims import (
    CatalogueSearchOut,
    ClaimOut,
    ClaimReviewOut,
    DisbursementOut,
    MyClaimsOut,
    OcrStatsOut,
    SettlementPreviewOut,
    UploadInvoiceOut,
)
from handlers.schemas import (
    ASSISTED_FORBIDDEN,
    ASSISTED_NOT_FOUND,
    IdNumber,
    Strict,
    StrictId,
    Version,
)

bp = Blueprint("claims")


class NewClaimIn(Strict):
    person_id: StrictId | None = None  # a family member; default: self


class StationClaimIn(Strict):
    applicant_id_number: IdNumber


class SubmitIn(Strict):
    version: Version
    bank_name: str = Field(min_length=2, max_length=60)
    bank_account: str = Field(min_length=12, max_length=40)
    note: str = Field(default="", max_length=200)
    authorisation_method: Literal["app", "signed_form"] | None = None
    authorisation_form_ref: str = Field(default="", max_length=200)
    authorisation_form_number: str = Field(default="", max_length=64)


class VersionIn(Strict):
    version: Version


class PaidIn(Strict):
    reference: str = Field(min_length=4, max_length=64)


class ItemClassIn(Strict):
    item_class: ItemClass | None  # null: back to the catalogue and the invoice's split


class CatalogueQuery(BaseModel):
    q: str = Field(min_length=1, max_length=60)
    on: date | None = None  # the care date; today when absent


class StatsQuery(BaseModel):
    date_from: date
    date_to: date


# -- applicant side ------------------------------------------------------------------------------


@bp.post("/claims")
@openapi.summary("新建零星报销申请（草稿，可为家庭成员申请）")
@requires(Role.CITIZEN)
@idempotent
@body(NewClaimIn)
@errors(404, "PERSON_NOT_FOUND")
@responds(ClaimOut, status=201)
async def create_claim(request: Request, body: NewClaimIn) -> ClaimView:
    c = container(request)
    claim = await drafts.create_claim(c, principal(request), person_id=body.person_id)
    return await views.claim_view(c, claim)


@bp.post("/station/claims")
@openapi.summary("服务站代办新建零星报销申请")
@requires(Role.STATION_STAFF)
@idempotent
@body(StationClaimIn)
@errors(403, *ASSISTED_FORBIDDEN)
@errors(404, *ASSISTED_NOT_FOUND)
@errors(422, "ID_NUMBER_INVALID", "NO_STATION")
@responds(ClaimOut, status=201)
async def create_station_claim(request: Request, body: StationClaimIn) -> ClaimView:
    c = container(request)
    claim = await drafts.create_station_claim(
        c, principal(request), applicant_id_number=body.applicant_id_number
    )
    return await views.claim_view(c, claim)


@bp.get("/claims")
@openapi.summary("我的零星报销申请")
@requires(Role.CITIZEN)
@responds(MyClaimsOut)
async def my_claims(request: Request) -> dict[str, list[ClaimView]]:
    c = container(request)
    claims = await views.my_claims(principal(request))
    return {"items": [await views.claim_view(c, cl) for cl in claims]}


@bp.get("/claims/<claim_id:int>")
@openapi.summary("零星报销申请详情与进度")
@requires(Role.CITIZEN, Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
@errors(404, "CLAIM_NOT_FOUND")
@responds(ClaimOut)
async def get_claim(request: Request, claim_id: int) -> ClaimView:
    c = container(request)
    claim = await access.load_claim(c, principal(request), claim_id)
    return await views.claim_view(c, claim)


@bp.post("/claims/<claim_id:int>/invoices")
@multipart(
    file=("发票照片（JPEG、PNG）或电子发票（一页 PDF），按内容识别类型", "application/octet-stream")
)
@openapi.summary("上传发票照片或电子发票（multipart/form-data，字段名 file），自动识别")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@errors(403, "NOT_YOUR_CLAIM")
@errors(404, "CLAIM_NOT_FOUND")
@errors(409, "CLAIM_NOT_EDITABLE")
@errors(422, "TOO_MANY_INVOICES")
@upload_errors
@responds(UploadInvoiceOut, status=201)
async def upload_invoice(request: Request, claim_id: int) -> dict[str, int | ClaimView]:
    c = container(request)
    inv = await drafts.add_invoice(c, principal(request), claim_id, uploaded_file(request))
    claim = await access.load_claim(c, principal(request), claim_id)
    view = await views.claim_view(c, claim)
    return {"invoice_id": inv.id, "claim": view}


@bp.delete("/claims/<claim_id:int>/invoices/<invoice_id:int>")
@openapi.summary("删除草稿中的一张发票")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@errors(404, "CLAIM_NOT_FOUND")
@responds(ClaimOut)
async def delete_invoice(request: Request, claim_id: int, invoice_id: int) -> ClaimView:
    c = container(request)
    await drafts.remove_invoice(c, principal(request), claim_id, invoice_id)
    claim = await access.load_claim(c, principal(request), claim_id)
    return await views.claim_view(c, claim)


@bp.post("/claims/<claim_id:int>/submit")
@openapi.summary("提交零星报销申请（填写收款银行账户）")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(SubmitIn)
@errors(403, "NOT_YOUR_CLAIM")
@errors(404, "CLAIM_NOT_FOUND")
@errors(409, "CLAIM_ALREADY_SUBMITTED", "CLAIM_CHANGED", "DUPLICATE_INVOICE")
@errors(422, "AUTHORISATION_REQUIRED", "BANK_ACCOUNT_INVALID", "INVOICES_REQUIRED")
@responds(ClaimOut)
async def submit_claim(request: Request, claim_id: int, body: SubmitIn) -> ClaimView:
    c = container(request)
    claim = await submission.submit_claim(
        c,
        principal(request),
        claim_id,
        version=body.version,
        bank_name=body.bank_name,
        bank_account=body.bank_account,
        note=body.note,
        authorisation_method=body.authorisation_method,
        form_ref=body.authorisation_form_ref,
        form_number=body.authorisation_form_number,
    )
    return await views.claim_view(c, claim)


@bp.post("/claims/<claim_id:int>/resume")
@openapi.summary("补正或补充材料后重新提交报销申请")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(VersionIn)
@errors(409, "CLAIM_NOT_SUBMITTED", "NO_MATERIALS_EXPECTED")
@responds(ClaimOut)
async def resume_claim(request: Request, claim_id: int, body: VersionIn) -> ClaimView:
    """After 补正/补充材料: the case (``version`` is the case's) goes back to the bureau."""
    c = container(request)
    await submission.resume_claim(c, principal(request), claim_id, version=body.version)
    claim = await access.load_claim(c, principal(request), claim_id)
    return await views.claim_view(c, claim)


@bp.get("/claims/<claim_id:int>/invoices/<invoice_id:int>/image")
@openapi.summary("查看发票原图")
@requires(Role.CITIZEN, Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
@errors(404, "CLAIM_NOT_FOUND")
@responds(None, binary_types=("image/jpeg", "image/png", "application/pdf"))
async def invoice_image(request: Request, claim_id: int, invoice_id: int) -> HTTPResponse:
    data, content_type = await views.invoice_image(
        container(request), principal(request), claim_id, invoice_id
    )
    return raw(
        data,
        content_type=content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


# -- review ----------------------------------------------------------------------------------------


@bp.get("/review/claims/<claim_id:int>")
@openapi.summary("审核人员查看报销申请：识别结果、校验、计算")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@errors(404, "CLAIM_NOT_FOUND")
@responds(ClaimReviewOut)
async def review_claim(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    claim = await access.load_claim(c, principal(request), claim_id)
    return json(await views.review_view(c, claim))


@bp.put("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/confirmation")
@openapi.summary("审核人员确认或更正发票的识别结果")
@requires(Role.REVIEWER)
@idempotent
@body(InvoiceValues)
@errors(409, "DUPLICATE_INVOICE")
@responds(ClaimReviewOut)
async def confirm_invoice(
    request: Request, claim_id: int, invoice_id: int, body: InvoiceValues
) -> HTTPResponse:
    c = container(request)
    await review.confirm_invoice(c, principal(request), claim_id, invoice_id, body)
    claim = await access.load_claim(c, principal(request), claim_id)
    return json(await views.review_view(c, claim))


@bp.put("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/items/<index:int>/class")
@openapi.summary("审核人员为目录外的费用明细归类（甲类、乙类、丙类、自费）")
@requires(Role.REVIEWER)
@idempotent
@body(ItemClassIn)
@responds(ClaimReviewOut)
async def classify_item(
    request: Request, claim_id: int, invoice_id: int, index: int, body: ItemClassIn
) -> HTTPResponse:
    """The reviewer classes one item (甲类/乙类/丙类/自费) the catalogue does not know."""
    c = container(request)
    await review.classify_item(c, principal(request), claim_id, invoice_id, index, body.item_class)
    claim = await access.load_claim(c, principal(request), claim_id)
    return json(await views.review_view(c, claim))


@bp.post("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/settlement-preview")
@openapi.summary("按给定的发票值试算结算结果（不保存）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@body(InvoiceValues)
@responds(SettlementPreviewOut)
async def preview_settlement(
    request: Request, claim_id: int, invoice_id: int, body: InvoiceValues
) -> HTTPResponse:
    """The settlement recomputed with these values for one invoice; nothing is saved."""
    result = await review.preview_settlement(
        container(request), principal(request), claim_id, invoice_id, body
    )
    return json({"settlement": result})


@bp.get("/review/catalogue")
@openapi.summary("按编码前缀或名称查询就医日期适用的医保目录条目（审核人员归类用）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@query(CatalogueQuery)
@responds(CatalogueSearchOut)
async def search_catalogue(request: Request, query: CatalogueQuery) -> CatalogueSearch:
    """Catalogue entries (医保目录) by code prefix or name, as in force on the care date."""
    c = container(request)
    return assessment.search_catalogue(c, query.q, query.on or local_today(c.clock))


@bp.get("/review/ocr-stats")
@openapi.summary("发票识别更正统计（按字段，指定日期区间）")
@requires(Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
@query(StatsQuery)
@errors(422, "PERIOD_INVALID")
@responds(OcrStatsOut)
async def ocr_stats(request: Request, query: StatsQuery) -> CorrectionStats:
    if query.date_to < query.date_from or (query.date_to - query.date_from).days > 366:
        raise InvalidInput("统计区间无效（最长一年）", code="PERIOD_INVALID")
    return await views.correction_stats(query.date_from, query.date_to)


@bp.post("/finance/disbursements/<disbursement_id:int>/paid")
@openapi.summary("财务登记报销款已支付")
@requires(Role.FINANCE, Role.SUPERVISOR, Role.ADMIN)
@idempotent
@body(PaidIn)
@responds(DisbursementOut)
async def mark_paid(request: Request, disbursement_id: int, body: PaidIn) -> Payout:
    c = container(request)
    d = await payout.mark_paid(c, principal(request), disbursement_id, reference=body.reference)
    return views.disbursement_view(c, d)
