"""Station desk (帮办代办): the station's cases and their deadlines, the audited citizen
look-up, and an assisted remote-care filing with the citizen's authorisation (confirmation in
the app, or an uploaded signed form) and uploaded materials."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import queries
from backend.cases import service as cases
from backend.cases.models import AuthorisationMethod
from backend.filings import service as filings
from backend.identity.models import Role
from backend.stations import assisted, desk
from handlers.console.web import container, page, page_response, parse_form, principal
from workflows.definition import Channel

bp = Blueprint("console_station", url_prefix="/console/station")


class LookupForm(BaseModel):
    id_number: str = Field(min_length=15, max_length=18)
    reason: str = Field(min_length=1, max_length=200)


class FilingForm(BaseModel):
    applicant_id_number: str = Field(min_length=15, max_length=18)
    filing_type: str = Field(min_length=1, max_length=32)
    province_code: str = Field(min_length=1, max_length=12)
    city_code: str = Field(min_length=1, max_length=12)
    start_date: date
    destination_hospital: str = Field(default="", max_length=100)
    diagnosis: str = Field(default="", max_length=100)
    use_commitment: bool = False
    contact_phone: str = Field(default="", max_length=11)
    note: str = Field(default="", max_length=200)
    agent_name: str = Field(default="", max_length=50)
    authorisation_method: Literal["app", "signed_form"]
    authorisation_form_number: str = Field(default="", max_length=64)


def _upload(request: Request, name: str) -> bytes | None:
    part = request.files.get(name) if request.files else None
    return part.body if part is not None and part.body else None


@bp.get("", strict_slashes=False)
@page(Role.STATION_STAFF)
async def station_cases(request: Request) -> HTTPResponse:
    c = container(request)
    actor = await cases.actor_for(principal(request))
    result = await queries.station_cases(c, actor, queries.Page(1, 100))
    return await page_response(request, "station_cases.html", cases=result)


@bp.get("/lookup")
@page(Role.STATION_STAFF)
async def lookup_form(request: Request) -> HTTPResponse:
    return await page_response(request, "station_lookup.html", found=None)


@bp.post("/lookup")
@page(Role.STATION_STAFF)
async def lookup(request: Request) -> HTTPResponse:
    form: LookupForm = parse_form(request, LookupForm)
    c = container(request)
    found = await assisted.citizen_lookup(
        c, principal(request), id_number=form.id_number, reason=form.reason
    )
    return await page_response(
        request,
        "station_lookup.html",
        found=found,
        id_number=form.id_number.strip().upper(),
        types=filings.types_view(c),
    )


@bp.get("/new")
@page(Role.STATION_STAFF)
async def new_form(request: Request) -> HTTPResponse:
    return await page_response(
        request, "station_lookup.html", found=None, types=filings.types_view(container(request))
    )


@bp.post("/filings")
@page(Role.STATION_STAFF)
async def file_assisted(request: Request) -> HTTPResponse:
    """An assisted remote-care filing: the files are checked and stored first, then the filing
    domain submits it (the same function as ``POST /station/remote-care-filings``)."""
    c = container(request)
    p = principal(request)
    form: FilingForm = parse_form(request, FilingForm)
    form_ref = ""
    if form.authorisation_method == "signed_form":
        signed = _upload(request, "authorisation_form")
        if signed is not None:
            form_ref = await desk.store_upload(c, p, signed, "authorisation_form")
    materials = []
    id_card = _upload(request, "id_card_file")
    if id_card is not None:
        ref = await desk.store_upload(c, p, id_card, "id_card")
        materials.append({"key": "id_card", "file_ref": ref})
    proof = _upload(request, "proof_file")
    if proof is not None:
        ftype = {t["code"]: t for t in filings.types_view(c)}.get(form.filing_type)
        key = ftype["proofs"][0] if ftype and ftype["proofs"] else "commitment_letter"
        materials.append({"key": key, "file_ref": await desk.store_upload(c, p, proof, key)})
    request_ = filings.FilingRequest(
        filing_type=form.filing_type.strip(),
        province_code=form.province_code.strip(),
        city_code=form.city_code.strip(),
        start_date=form.start_date,
        destination_hospital=form.destination_hospital.strip(),
        diagnosis=form.diagnosis.strip(),
        use_commitment=form.use_commitment,
        contact_phone=form.contact_phone.strip() or None,
        note=form.note.strip(),
        materials=materials,
    )
    assistance = cases.Assistance(
        applicant_id_number=form.applicant_id_number,
        channel=Channel.STATION,
        agent_name=form.agent_name.strip(),
        authorisation_method=AuthorisationMethod(form.authorisation_method),
        form_ref=form_ref,
        form_number=form.authorisation_form_number.strip(),
    )
    case = await filings.submit(c, p, request_, assistance)
    return redirect(f"/console/cases/{case.id}", status=303)
