"""Station desk (帮办代办): the station's cases and their deadlines, the audited citizen
look-up, and an assisted remote-care filing with the citizen's authorisation (confirmation in
the app, or an uploaded signed form) and uploaded materials."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import queries
from backend.cases import service as cases
from backend.filings import service as filings
from backend.identity.models import Role
from backend.stations import assisted, desk
from handlers.console.web import (
    container,
    form_values,
    page,
    page_response,
    parse_form,
    parse_values,
    principal,
)
from handlers.filings import AssistedFilingIn

bp = Blueprint("console_station", url_prefix="/console/station")


class LookupForm(BaseModel):
    id_number: str = Field(min_length=15, max_length=18)
    reason: str = Field(min_length=1, max_length=200)


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
    values = {k: v for k, v in form_values(request).items() if v != "" and k != "csrf_token"}
    values["use_commitment"] = values.get("use_commitment") == "true"  # a checkbox
    if values.get("authorisation_method") == "signed_form":
        signed = _upload(request, "authorisation_form")
        if signed is not None:
            ref = await desk.store_upload(c, p, signed, "authorisation_form")
            values["authorisation_form_ref"] = ref
    materials = []
    id_card = _upload(request, "id_card_file")
    if id_card is not None:
        ref = await desk.store_upload(c, p, id_card, "id_card")
        materials.append({"key": "id_card", "file_ref": ref})
    proof = _upload(request, "proof_file")
    if proof is not None:
        ftype = {t["code"]: t for t in filings.types_view(c)}.get(values.get("filing_type"))
        key = ftype["proofs"][0] if ftype and ftype["proofs"] else "commitment_letter"
        materials.append({"key": key, "file_ref": await desk.store_upload(c, p, proof, key)})
    body: AssistedFilingIn = parse_values(AssistedFilingIn, {**values, "materials": materials})
    case = await filings.submit(c, p, body.to_request(), body.to_assistance())
    return redirect(f"/console/cases/{case.id}", status=303)
