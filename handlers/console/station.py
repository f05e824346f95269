"""Station desk (帮办代办): the station's cases and their deadlines, the audited citizen
look-up, and an assisted remote-care filing with the citizen's authorisation (confirmation in
the app, or an uploaded signed form) and uploaded materials."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import access, catalogue, lists
from backend.cases.assisted import submit_assisted
from backend.errors import NotFound
from backend.filings import service as filings
from backend.identity.models import Role
from backend.stations import assisted, desk
from backend.stations.service import get_station
from handlers.cases import AssistedIn
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
from workflows.vocabulary import OWNERS

bp = Blueprint("console_station", url_prefix="/console/station")


class LookupForm(BaseModel):
    id_number: str = Field(min_length=15, max_length=18)
    reason: str = Field(min_length=1, max_length=200)


def _upload(request: Request, name: str) -> bytes | None:
    part = request.files.get(name) if request.files else None
    return part.body if part is not None and part.body else None


async def _signed_form(request: Request, values: dict[str, Any]) -> dict[str, str]:
    """The uploaded signed authorisation form, stored and referenced (for a signed form)."""
    signed = _upload(request, "authorisation_form")
    if values.get("authorisation_method") != "signed_form" or signed is None:
        return {}
    ref = await desk.store_upload(
        container(request), principal(request), signed, "form", _applicant(values)
    )
    return {"authorisation_form_ref": ref}


def _applicant(values: dict[str, Any]) -> str:
    return str(values.get("applicant_id_number", "")).strip().upper()


@bp.get("", strict_slashes=False)
@page(Role.STATION_STAFF)
async def station_cases(request: Request) -> HTTPResponse:
    c = container(request)
    actor = await access.actor_for(principal(request))
    result = await lists.station_cases(c, actor, lists.Page(1, 100))
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
        services=await _services_of(request),
    )


@bp.get("/new")
@page(Role.STATION_STAFF)
async def new_form(request: Request) -> HTTPResponse:
    return await page_response(
        request,
        "station_lookup.html",
        found=None,
        types=filings.types_view(container(request)),
        services=await _services_of(request),
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
    applicant = _applicant(values)
    values |= await _signed_form(request, values)
    materials = []
    id_card = _upload(request, "id_card_file")
    if id_card is not None:
        ref = await desk.store_upload(c, p, id_card, "id_card", applicant)
        materials.append({"key": "id_card", "file_ref": ref})
    proof = _upload(request, "proof_file")
    if proof is not None:
        ftype = {t["code"]: t for t in filings.types_view(c)}.get(values.get("filing_type"))
        proofs = ftype["proofs"] if ftype else []
        key = proofs[0] if proofs and not values["use_commitment"] else "commitment_letter"
        ref = await desk.store_upload(c, p, proof, key, applicant)
        materials.append({"key": key, "file_ref": ref})
    body: AssistedFilingIn = parse_values(AssistedFilingIn, {**values, "materials": materials})
    case = await filings.submit(c, p, body.to_request(), body.to_assistance())
    return redirect(f"/console/cases/{case.id}", status=303)


def assisted_services(delegated: list[str]) -> list[dict[str, Any]]:
    """Engine services a station files through the generic assisted request: delegated to the
    station, open to the station channel, and without a domain of their own (those have their
    own forms: the filing above; chronic disease and claims through their API)."""
    return [
        s
        for s in catalogue.list_services()
        if "station" in s["channels"] and s["code"] not in OWNERS and s["code"] in delegated
    ]


async def _services_of(request: Request) -> list[dict[str, Any]]:
    station = await get_station(container(request), principal(request).station_id)  # type: ignore[arg-type]
    return assisted_services(station.delegated_items or [])


@bp.get("/requests/<service_code:str>")
@page(Role.STATION_STAFF)
async def request_form(request: Request, service_code: str) -> HTTPResponse:
    services = {s["code"]: s for s in await _services_of(request)}
    if service_code not in services:
        raise NotFound("本服务站不能代办该事项", code="ITEM_NOT_DELEGATED")
    return await page_response(request, "station_request.html", service=services[service_code])


@bp.post("/requests/<service_code:str>")
@page(Role.STATION_STAFF)
async def file_request(request: Request, service_code: str) -> HTTPResponse:
    """帮办代办 of an engine service (the same function as ``POST /station/cases``): the
    definition's fields, one upload per material, the citizen's authorisation."""
    c = container(request)
    p = principal(request)
    values = {k: v for k, v in form_values(request).items() if v != "" and k != "csrf_token"}
    defn = next((s for s in catalogue.list_services() if s["code"] == service_code), None)
    if defn is None:
        raise NotFound("未找到该事项", code="UNKNOWN_SERVICE")
    names = {f["name"] for f in defn["fields"]}
    body = {k: v for k, v in values.items() if k not in names}
    body["form"] = {k: v for k, v in values.items() if k in names}
    body["service_code"] = service_code
    body["materials"] = []
    for m in defn["materials"]:
        data = _upload(request, f"material_{m['key']}")
        if data is not None:
            ref = await desk.store_upload(c, p, data, m["key"], _applicant(values))
            body["materials"].append({"key": m["key"], "file_ref": ref})
    body |= await _signed_form(request, values)
    req: AssistedIn = parse_values(AssistedIn, body)
    case = await submit_assisted(c, p, req.to_assistance().case(req.to_request()))
    return redirect(f"/console/cases/{case.id}", status=303)
