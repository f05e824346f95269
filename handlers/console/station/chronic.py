"""The assisted chronic-disease application (门诊慢特病) at the station desk."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, redirect

from backend.cases import catalogue as services
from backend.chronic import service as chronic
from backend.identity.models import Role
from handlers.chronic import AssistedApplicationIn
from handlers.console.station import (
    applicant_of,
    bp,
    desk_values,
    require_item,
    signed_form,
    uploaded_materials,
)
from handlers.console.web import container, page, page_response, parse_values, principal
from workflows.vocabulary import CHRONIC_DISEASE


@bp.get("/chronic")
@page(Role.STATION_STAFF)
async def chronic_form(request: Request) -> HTTPResponse:
    await require_item(request, CHRONIC_DISEASE)
    return await page_response(
        request,
        "station_chronic.html",
        diseases=chronic.catalogue(container(request)),
        materials=services.service(container(request), CHRONIC_DISEASE)["materials"],
        id_number=request.args.get("applicant", ""),
    )


@bp.post("/chronic")
@page(Role.STATION_STAFF)
async def apply_chronic(request: Request) -> HTTPResponse:
    """An assisted application (the function of ``POST /station/chronic-applications``)."""
    values = desk_values(request)
    applicant = applicant_of(values)
    level = str(values.get("diagnosis_hospital_level", ""))
    values["diagnosis_hospital_level"] = int(level) if level.isdigit() else level
    values["designated_institutions"] = [
        n.strip() for n in str(values.get("designated_institutions", "")).split("、") if n.strip()
    ]
    values["materials"] = await uploaded_materials(
        request, services.service(container(request), CHRONIC_DISEASE)["materials"], applicant
    )
    values |= await signed_form(request, values)
    body: AssistedApplicationIn = parse_values(AssistedApplicationIn, values)
    case = await chronic.submit(
        container(request), principal(request), body.to_request(), body.to_assistance()
    )
    return redirect(f"/console/cases/{case.id}", status=303)
