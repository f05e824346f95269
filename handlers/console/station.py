"""Station desk (帮办代办): the station's cases and their deadlines, the audited citizen
look-up, and an assisted request of every item delegated to the station, with the citizen's
authorisation (confirmation in the app, or an uploaded signed form) and uploaded materials:
remote-care filings, chronic-disease applications and reimbursement claims through their
domains' functions, person registration (参保登记) through enrollment's, the other services
through the case engine's generic assisted request — each the function its API route calls."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import access, catalogue, lists
from backend.cases import assisted as case_assisted
from backend.chronic import service as chronic
from backend.claims import access as claim_access
from backend.claims import drafts as claim_drafts
from backend.claims import submission as claim_submission
from backend.claims import views as claim_views
from backend.container import Container
from backend.enrollment import service as enrollment
from backend.errors import InvalidInput, NotFound
from backend.filings import service as filings
from backend.identity.models import Person, Role
from backend.identity.persons import id_number_of
from backend.stations import assisted, desk
from backend.stations.service import SERVICE_ITEMS, get_station
from handlers.cases import AssistedIn
from handlers.chronic import AssistedApplicationIn
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
from workflows.vocabulary import (
    CHRONIC_DISEASE,
    ENROLLMENT,
    OWNERS,
    REIMBURSEMENT,
    REMOTE_CARE_FILING,
)

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
        **await _desk_context(request),
    )


async def _desk_context(request: Request) -> dict[str, Any]:
    delegated = await _delegated(request)
    filing = REMOTE_CARE_FILING in delegated
    return {
        "items": delegated_items(container(request), delegated),
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
        **await _desk_context(request),
    )


@bp.post("/filings")
@page(Role.STATION_STAFF)
async def file_assisted(request: Request) -> HTTPResponse:
    """An assisted remote-care filing: the files are checked and stored first, then the filing
    domain submits it (the same function as ``POST /station/remote-care-filings``)."""
    c = container(request)
    p = principal(request)
    values = _form_values(request)
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
        {"code": code, "name": SERVICE_ITEMS[code],
         "url": OWN_FORMS.get(code) or f"/console/station/requests/{code}"}
        for code in SERVICE_ITEMS
        if code in delegated and (code in OWN_FORMS or code in generic)
    ]  # fmt: skip


async def _delegated(request: Request) -> list[str]:
    station = await get_station(container(request), principal(request).station_id)  # type: ignore[arg-type]
    return list(station.delegated_items or [])


async def _services_of(request: Request) -> list[dict[str, Any]]:
    return assisted_services(container(request), await _delegated(request))


async def _require_item(request: Request, item: str) -> None:
    if item not in await _delegated(request):
        raise NotFound("本服务站不能代办该事项", code="ITEM_NOT_DELEGATED")


async def _uploaded_materials(
    request: Request, materials: list[dict[str, Any]], applicant: str
) -> list[dict[str, str]]:
    """One upload per material of the definition (``material_<key>``), stored as the
    applicant's case materials."""
    out = []
    for m in materials:
        data = _upload(request, f"material_{m['key']}")
        if data is not None:
            ref = await desk.store_upload(
                container(request), principal(request), data, m["key"], applicant
            )
            out.append({"key": m["key"], "file_ref": ref})
    return out


def _definition(c: Container, code: str) -> dict[str, Any]:
    defn = next((s for s in catalogue.list_services(c) if s["code"] == code), None)
    if defn is None:
        raise NotFound("未找到该事项", code="UNKNOWN_SERVICE")
    return defn


def _form_values(request: Request) -> dict[str, Any]:
    return {k: v for k, v in form_values(request).items() if v != "" and k != "csrf_token"}


@bp.get("/requests/<service_code:str>")
@page(Role.STATION_STAFF)
async def request_form(request: Request, service_code: str) -> HTTPResponse:
    services = {s["code"]: s for s in await _services_of(request)}
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
    values = _form_values(request)
    defn = _definition(container(request), service_code)
    names = {f["name"] for f in defn["fields"]}
    body = {k: v for k, v in values.items() if k not in names}
    body["form"] = {k: v for k, v in values.items() if k in names}
    body["service_code"] = service_code
    body["materials"] = await _uploaded_materials(request, defn["materials"], _applicant(values))
    body |= await _signed_form(request, values)
    req: AssistedIn = parse_values(AssistedIn, body)
    assisted_case = req.to_assistance().case(req.to_request())
    case = await case_assisted.submit_assisted(
        container(request), principal(request), assisted_case
    )
    return redirect(f"/console/cases/{case.id}", status=303)


# -- chronic-disease qualification (门诊慢特病) --------------------------------------------------


@bp.get("/chronic")
@page(Role.STATION_STAFF)
async def chronic_form(request: Request) -> HTTPResponse:
    await _require_item(request, CHRONIC_DISEASE)
    return await page_response(
        request,
        "station_chronic.html",
        diseases=chronic.catalogue(container(request)),
        materials=_definition(container(request), CHRONIC_DISEASE)["materials"],
        id_number=request.args.get("applicant", ""),
    )


@bp.post("/chronic")
@page(Role.STATION_STAFF)
async def apply_chronic(request: Request) -> HTTPResponse:
    """An assisted application (the function of ``POST /station/chronic-applications``)."""
    values = _form_values(request)
    applicant = _applicant(values)
    level = str(values.get("diagnosis_hospital_level", ""))
    values["diagnosis_hospital_level"] = int(level) if level.isdigit() else level
    values["designated_institutions"] = [
        n.strip() for n in str(values.get("designated_institutions", "")).split("、") if n.strip()
    ]
    values["materials"] = await _uploaded_materials(
        request, _definition(container(request), CHRONIC_DISEASE)["materials"], applicant
    )
    values |= await _signed_form(request, values)
    body: AssistedApplicationIn = parse_values(AssistedApplicationIn, values)
    case = await chronic.submit(
        container(request), principal(request), body.to_request(), body.to_assistance()
    )
    return redirect(f"/console/cases/{case.id}", status=303)


# -- reimbursement claims (零星报销): a draft, its invoices, the submission --------------------


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
    await _require_item(request, REIMBURSEMENT)
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
    data = _upload(request, "invoice")
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
    values = _form_values(request)
    values |= await _signed_form(
        request, {**values, "applicant_id_number": id_number_of(c, person)}
    )
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


# -- person registration (参保登记) ------------------------------------------------------------


class RegisterForm(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    id_number: str = Field(min_length=15, max_length=18)


@bp.get("/enrollment")
@page(Role.STATION_STAFF)
async def enrollment_form(request: Request) -> HTTPResponse:
    await _require_item(request, ENROLLMENT)
    return await page_response(request, "station_enrollment.html", registered=None)


@bp.post("/enrollment")
@page(Role.STATION_STAFF)
async def enrollment_register(request: Request) -> HTTPResponse:
    """Register a person not yet on record (the function of ``POST /enrollment/persons``)."""
    await _require_item(request, ENROLLMENT)
    form: RegisterForm = parse_form(request, RegisterForm)
    registered = await enrollment.register_person(
        container(request), principal(request), form.name, form.id_number
    )
    return await page_response(request, "station_enrollment.html", registered=registered)
