"""Reimbursement claims (零星报销): citizens, station clerks, reviewers and finance.

Uploads are ``multipart/form-data`` with one part named ``file`` (a JPEG, PNG or PDF); the
type is recognised from the content. The body is refused with 413 before the multipart parts
are looked at when it is larger than the configured limit (plus the multipart envelope).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, StrictInt
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw

from backend.claims import assessment, service
from backend.claims.checks import InvoiceValues
from backend.clock import local_today
from backend.errors import InvalidInput
from backend.identity.models import Role
from config.policy import ItemClass
from handlers.idempotency import idempotent
from handlers.request import body, container, parse_query, principal, requires, uploaded_file
from handlers.schemas import Strict

bp = Blueprint("claims")


class NewClaimIn(Strict):
    person_id: StrictInt | None = Field(default=None, ge=1)  # a family member; default: self


class StationClaimIn(Strict):
    applicant_id_number: str = Field(min_length=15, max_length=18)


class SubmitIn(Strict):
    version: StrictInt = Field(ge=1)
    bank_name: str = Field(min_length=2, max_length=60)
    bank_account: str = Field(min_length=12, max_length=40)
    note: str = Field(default="", max_length=200)
    authorisation_method: Literal["app", "signed_form"] | None = None
    authorisation_form_ref: str = Field(default="", max_length=200)
    authorisation_form_number: str = Field(default="", max_length=64)


class VersionIn(Strict):
    version: StrictInt = Field(ge=1)


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
@requires(Role.CITIZEN)
@idempotent
@body(NewClaimIn)
async def create_claim(request: Request, body: NewClaimIn) -> HTTPResponse:
    c = container(request)
    claim = await service.create_claim(c, principal(request), person_id=body.person_id)
    return json(await service.claim_view(c, claim), status=201)


@bp.post("/station/claims")
@requires(Role.STATION_STAFF)
@idempotent
@body(StationClaimIn)
async def create_station_claim(request: Request, body: StationClaimIn) -> HTTPResponse:
    c = container(request)
    claim = await service.create_station_claim(
        c, principal(request), applicant_id_number=body.applicant_id_number
    )
    return json(await service.claim_view(c, claim), status=201)


@bp.get("/claims")
@requires(Role.CITIZEN)
async def my_claims(request: Request) -> HTTPResponse:
    c = container(request)
    claims = await service.my_claims(principal(request))
    return json({"items": [await service.claim_view(c, cl) for cl in claims]})


@bp.get("/claims/<claim_id:int>")
@requires(Role.CITIZEN, Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
async def get_claim(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.claim_view(c, claim))


@bp.post("/claims/<claim_id:int>/invoices")
@requires(Role.CITIZEN, Role.STATION_STAFF)
async def upload_invoice(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    inv = await service.add_invoice(c, principal(request), claim_id, uploaded_file(request))
    claim = await service.load_claim(c, principal(request), claim_id)
    view = await service.claim_view(c, claim)
    return json({"invoice_id": inv.id, "claim": view}, status=201)


@bp.delete("/claims/<claim_id:int>/invoices/<invoice_id:int>")
@requires(Role.CITIZEN, Role.STATION_STAFF)
async def delete_invoice(request: Request, claim_id: int, invoice_id: int) -> HTTPResponse:
    c = container(request)
    await service.remove_invoice(c, principal(request), claim_id, invoice_id)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.claim_view(c, claim))


@bp.post("/claims/<claim_id:int>/submit")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(SubmitIn)
async def submit_claim(request: Request, claim_id: int, body: SubmitIn) -> HTTPResponse:
    c = container(request)
    claim = await service.submit_claim(
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
    return json(await service.claim_view(c, claim))


@bp.post("/claims/<claim_id:int>/resume")
@requires(Role.CITIZEN, Role.STATION_STAFF)
@idempotent
@body(VersionIn)
async def resume_claim(request: Request, claim_id: int, body: VersionIn) -> HTTPResponse:
    """After 补正/补充材料: the case (``version`` is the case's) goes back to the bureau."""
    c = container(request)
    await service.resume_claim(c, principal(request), claim_id, version=body.version)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.claim_view(c, claim))


@bp.get("/claims/<claim_id:int>/invoices/<invoice_id:int>/image")
@requires(Role.CITIZEN, Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
async def invoice_image(request: Request, claim_id: int, invoice_id: int) -> HTTPResponse:
    data, content_type = await service.invoice_image(
        container(request), principal(request), claim_id, invoice_id
    )
    return raw(
        data,
        content_type=content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


# -- review ----------------------------------------------------------------------------------------


@bp.get("/review/claims/<claim_id:int>")
@requires(Role.REVIEWER, Role.SUPERVISOR)
async def review_claim(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.review_view(c, claim))


@bp.put("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/confirmation")
@requires(Role.REVIEWER)
@idempotent
@body(InvoiceValues)
async def confirm_invoice(
    request: Request, claim_id: int, invoice_id: int, body: InvoiceValues
) -> HTTPResponse:
    c = container(request)
    await service.confirm_invoice(c, principal(request), claim_id, invoice_id, body)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.review_view(c, claim))


@bp.put("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/items/<index:int>/class")
@requires(Role.REVIEWER)
@idempotent
@body(ItemClassIn)
async def classify_item(
    request: Request, claim_id: int, invoice_id: int, index: int, body: ItemClassIn
) -> HTTPResponse:
    """The reviewer classes one item (甲类/乙类/丙类/自费) the catalogue does not know."""
    c = container(request)
    await service.classify_item(c, principal(request), claim_id, invoice_id, index, body.item_class)
    claim = await service.load_claim(c, principal(request), claim_id)
    return json(await service.review_view(c, claim))


@bp.post("/review/claims/<claim_id:int>/invoices/<invoice_id:int>/settlement-preview")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@body(InvoiceValues)
async def preview_settlement(
    request: Request, claim_id: int, invoice_id: int, body: InvoiceValues
) -> HTTPResponse:
    """The settlement recomputed with these values for one invoice; nothing is saved."""
    result = await service.preview_settlement(
        container(request), principal(request), claim_id, invoice_id, body
    )
    return json({"settlement": result})


@bp.get("/review/catalogue")
@requires(Role.REVIEWER, Role.SUPERVISOR)
async def search_catalogue(request: Request) -> HTTPResponse:
    """Catalogue entries (医保目录) by code prefix or name, as in force on the care date."""
    q = parse_query(request, CatalogueQuery)
    c = container(request)
    return json(assessment.search_catalogue(c, q.q, q.on or local_today(c.clock)))


@bp.get("/review/ocr-stats")
@requires(Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)
async def ocr_stats(request: Request) -> HTTPResponse:
    q = parse_query(request, StatsQuery)
    if q.date_to < q.date_from or (q.date_to - q.date_from).days > 366:
        raise InvalidInput("统计区间无效（最长一年）", code="PERIOD_INVALID")
    return json(await service.correction_stats(q.date_from, q.date_to))


@bp.post("/finance/disbursements/<disbursement_id:int>/paid")
@requires(Role.FINANCE, Role.SUPERVISOR, Role.ADMIN)
@idempotent
@body(PaidIn)
async def mark_paid(request: Request, disbursement_id: int, body: PaidIn) -> HTTPResponse:
    c = container(request)
    d = await service.mark_paid(c, principal(request), disbursement_id, reference=body.reference)
    return json(service.disbursement_view(c, d))
