"""Reimbursement claims (零星报销) at the station desk: a draft, its invoices, the submission."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sanic import Request
from sanic.response import HTTPResponse, redirect

from backend.claims import access as claim_access
from backend.claims import drafts as claim_drafts
from backend.claims import submission as claim_submission
from backend.claims import views as claim_views
from backend.errors import InvalidInput
from backend.identity.models import Person, Role
from backend.identity.persons import id_number_of
from handlers.console.station import bp, desk_values, require_item, signed_form, upload
from handlers.console.web import container, page, page_response, parse_form, parse_values, principal
from workflows.vocabulary import REIMBURSEMENT


class NewClaimForm(BaseModel):
    applicant_id_number: str = Field(min_length=15, max_length=18)


class SubmitClaimForm(BaseModel):
    version: int = Field(ge=1)
    bank_name: str = Field(min_length=2, max_length=60)
    bank_account: str = Field(min_length=12, max_length=40)
    note: str = Field(default="", max_length=200)
    authorisation_method: Literal["app", "signed_form"]
    authorisation_form_ref: str = Field(default="", max_length=200)
    authorisation_form_number: str = Field(default="", max_length=64)


@bp.get("/claims")
@page(Role.STATION_STAFF)
async def claim_start(request: Request) -> HTTPResponse:
    await require_item(request, REIMBURSEMENT)
    return await page_response(
        request, "station_claim.html", claim=None, id_number=request.args.get("applicant", "")
    )


@bp.post("/claims")
@page(Role.STATION_STAFF)
async def claim_create(request: Request) -> HTTPResponse:
    """A draft for the citizen (the function of ``POST /station/claims``)."""
    form: NewClaimForm = parse_form(request, NewClaimForm)
    claim = await claim_drafts.create_station_claim(
        container(request), principal(request), applicant_id_number=form.applicant_id_number
    )
    return redirect(f"/console/station/claims/{claim.id}", status=303)


@bp.get("/claims/<claim_id:int>")
@page(Role.STATION_STAFF)
async def claim_draft(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    claim = await claim_access.load_claim(c, principal(request), claim_id)
    if claim.case_id is not None:
        return redirect(f"/console/cases/{claim.case_id}", status=303)
    return await page_response(
        request, "station_claim.html", claim=await claim_views.claim_view(c, claim)
    )


@bp.post("/claims/<claim_id:int>/invoices")
@page(Role.STATION_STAFF)
async def claim_invoice(request: Request, claim_id: int) -> HTTPResponse:
    """One invoice photo or electronic invoice (the function of the API's upload)."""
    data = upload(request, "invoice")
    if data is None:
        raise InvalidInput("请选择票据照片或电子发票", code="FILE_REQUIRED")
    await claim_drafts.add_invoice(container(request), principal(request), claim_id, data)
    return redirect(f"/console/station/claims/{claim_id}", status=303)


@bp.post("/claims/<claim_id:int>/submit")
@page(Role.STATION_STAFF)
async def claim_submit(request: Request, claim_id: int) -> HTTPResponse:
    c = container(request)
    p = principal(request)
    claim = await claim_access.load_claim(c, p, claim_id)
    person = await Person.get(id=claim.person_id)
    values = desk_values(request)
    values |= await signed_form(request, {**values, "applicant_id_number": id_number_of(c, person)})
    form: SubmitClaimForm = parse_values(SubmitClaimForm, values)
    submitted = await claim_submission.submit_claim(
        c,
        p,
        claim_id,
        version=form.version,
        bank_name=form.bank_name,
        bank_account=form.bank_account,
        note=form.note,
        authorisation_method=form.authorisation_method,
        form_ref=form.authorisation_form_ref,
        form_number=form.authorisation_form_number,
    )
    return redirect(f"/console/cases/{submitted.case_id}", status=303)
