"""The station desk's own pages: the station's cases, the audited citizen look-up, the
assisted remote-care filing and the generic assisted request of an engine service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sanic import Request
from sanic.response import HTTPResponse, redirect

from backend.cases import access, catalogue, lists
from backend.cases import assisted as case_assisted
from backend.container import Container
from backend.errors import NotFound
from backend.filings import service as filings
from backend.identity.models import Role
from backend.stations import assisted, desk
from backend.stations.service import SERVICE_ITEMS
from handlers.cases.desk import AssistedIn
from handlers.console.station import (
    applicant_of,
    bp,
    delegated,
    desk_values,
    signed_form,
    upload,
    uploaded_materials,
)
from handlers.console.web import container, page, page_response, parse_form, parse_values, principal
from handlers.filings import AssistedFilingIn
from workflows.vocabulary import (
    CHRONIC_DISEASE,
    ENROLLMENT,
    OWNERS,
    REIMBURSEMENT,
    REMOTE_CARE_FILING,
)


class LookupForm(BaseModel):
    id_number: str = Field(min_length=15, max_length=18)
    reason: str = Field(min_length=1, max_length=200)


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
        **await desk_context(request),
    )


async def desk_context(request: Request) -> dict[str, Any]:
    items = await delegated(request)
    filing = REMOTE_CARE_FILING in items
    return {
        "items": delegated_items(container(request), items),
        "types": filings.filing_types(container(request)) if filing else None,
    }


@bp.get("/new")
@page(Role.STATION_STAFF)
async def new_form(request: Request) -> HTTPResponse:
    return await page_response(
        request,
        "station_lookup.html",
        found=None,
        id_number=request.args.get("applicant", ""),
        **await desk_context(request),
    )


@bp.post("/filings")
@page(Role.STATION_STAFF)
async def file_assisted(request: Request) -> HTTPResponse:
    """An assisted remote-care filing: the files are checked and stored first, then the filing
    domain submits it (the same function as ``POST /station/remote-care-filings``)."""
    c = container(request)
    p = principal(request)
    values = desk_values(request)
    values["use_commitment"] = values.get("use_commitment") == "true"  # a checkbox
    applicant = applicant_of(values)
    values |= await signed_form(request, values)
    materials = []
    id_card = upload(request, "id_card_file")
    if id_card is not None:
        ref = await desk.store_upload(c, p, id_card, "id_card", applicant)
        materials.append({"key": "id_card", "file_ref": ref})
    proof = upload(request, "proof_file")
    if proof is not None:
        ftype = {t.code: t for t in filings.filing_types(c)}.get(str(values.get("filing_type", "")))
        proofs = ftype.proofs if ftype else []
        key = proofs[0] if proofs and not values["use_commitment"] else "commitment_letter"
        ref = await desk.store_upload(c, p, proof, key, applicant)
        materials.append({"key": key, "file_ref": ref})
    body: AssistedFilingIn = parse_values(AssistedFilingIn, {**values, "materials": materials})
    case = await filings.submit(c, p, body.to_request(), body.to_assistance())
    return redirect(f"/console/cases/{case.id}", status=303)


# Items whose domain has its own console form; the other services use the generic form.
OWN_FORMS = {
    REMOTE_CARE_FILING: "/console/station/new#filing-title",
    CHRONIC_DISEASE: "/console/station/chronic",
    REIMBURSEMENT: "/console/station/claims",
    ENROLLMENT: "/console/station/enrollment",
}


def assisted_services(c: Container, delegated: list[str]) -> list[dict[str, Any]]:
    """Engine services a station files through the generic assisted request: delegated to the
    station, open to the station channel, and without a domain of their own."""
    return [
        s
        for s in catalogue.list_services(c)
        if "station" in s["channels"] and s["code"] not in OWNERS and s["code"] in delegated
    ]


def delegated_items(c: Container, delegated: list[str]) -> list[dict[str, str]]:
    """Every item delegated to the station, with the console form that files it."""
    generic = {s["code"] for s in assisted_services(c, delegated)}
    return [
        {
            "code": code,
            "name": SERVICE_ITEMS[code],
            "url": OWN_FORMS.get(code) or f"/console/station/requests/{code}",
        }
        for code in SERVICE_ITEMS
        if code in delegated and (code in OWN_FORMS or code in generic)
    ]


async def services_of(request: Request) -> list[dict[str, Any]]:
    return assisted_services(container(request), await delegated(request))


@bp.get("/requests/<service_code:str>")
@page(Role.STATION_STAFF)
async def request_form(request: Request, service_code: str) -> HTTPResponse:
    services = {s["code"]: s for s in await services_of(request)}
    if service_code not in services:
        raise NotFound("本服务站不能代办该事项", code="ITEM_NOT_DELEGATED")
    return await page_response(
        request,
        "station_request.html",
        service=services[service_code],
        id_number=request.args.get("applicant", ""),
    )


@bp.post("/requests/<service_code:str>")
@page(Role.STATION_STAFF)
async def file_request(request: Request, service_code: str) -> HTTPResponse:
    """帮办代办 of an engine service (the same function as ``POST /station/cases``): the
    definition's fields, one upload per material, the citizen's authorisation."""
    values = desk_values(request)
    defn = catalogue.service(container(request), service_code)
    names = {f["name"] for f in defn["fields"]}
    body = {k: v for k, v in values.items() if k not in names}
    body["form"] = {k: v for k, v in values.items() if k in names}
    body["service_code"] = service_code
    body["materials"] = await uploaded_materials(request, defn["materials"], applicant_of(values))
    body |= await signed_form(request, values)
    req: AssistedIn = parse_values(AssistedIn, body)
    assisted_case = req.to_assistance().case(req.to_request())
    case = await case_assisted.submit_assisted(
        container(request), principal(request), assisted_case
    )
    return redirect(f"/console/cases/{case.id}", status=303)
