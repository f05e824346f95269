"""Front desk (综合受理): the acceptance queue, a case with its materials inline, the decision;
and the case files and invoice images every console page shows inline."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw, redirect

from backend.cases import acceptance, access, details, lists, materials, policy
from backend.claims import access as claim_access
from backend.claims import desk as claim_desk
from backend.claims import views as claim_views
from backend.identity.models import Role
from backend.stations import desk
from handlers.console.web import container, page, page_response, parse_form, principal

bp = Blueprint("console_frontdesk", url_prefix="/console")

FRONT_DESK = (Role.STATION_STAFF, Role.REVIEWER)
STAFF = (Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


class AcceptanceForm(BaseModel):
    version: int = Field(ge=1)
    outcome: Literal["accept", "correct", "refuse"]
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


def _file_headers() -> dict[str, str]:
    return {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


@bp.get("/acceptance")
@page(*FRONT_DESK)
async def acceptance_queue(request: Request) -> HTTPResponse:
    c = container(request)
    actor = await access.actor_for(principal(request))
    result = await lists.acceptance_queue(c, actor, lists.Page(1, 100))
    return await page_response(request, "acceptance.html", queue=result)


async def case_context(request: Request, case_id: int) -> dict[str, Any]:
    """What the case page and the review page show: the case, its timeline, its claim."""
    c = container(request)
    p = principal(request)
    actor = await access.actor_for(p)
    case = await details.case_detail(c, actor, case_id)
    claim = None
    if case.service_code == claim_access.SERVICE_CODE:
        found = await claim_desk.claim_of_case(c, p, case_id)
        claim = await claim_views.claim_view(c, found) if found else None
    return {
        "case": case,
        "timeline": await details.timeline(c, actor, case_id),
        "claim": claim,
        "files": await desk.case_files(c, p, case_id),
        "reasons": policy.workflow_policy(c).reasons,
        "field_labels": {
            f.name: f.label
            for f in c.definitions.get(case.service_code, case.definition_version).fields
        },
    }


@bp.get("/cases/<case_id:int>")
@page(*STAFF)
async def case_page(request: Request, case_id: int) -> HTTPResponse:
    context = await case_context(request, case_id)
    p = principal(request)
    context["can_accept"] = context["case"].state == "submitted" and (
        p.role is Role.STATION_STAFF
        or (p.role is Role.REVIEWER and access.FRONT_DESK_CATEGORY in p.categories)
    )
    return await page_response(request, "case.html", **context)


@bp.post("/cases/<case_id:int>/acceptance")
@page(*FRONT_DESK)
async def decide_acceptance(request: Request, case_id: int) -> HTTPResponse:
    form: AcceptanceForm = parse_form(request, AcceptanceForm)
    await acceptance.accept(
        container(request),
        principal(request),
        case_id,
        version=form.version,
        outcome=form.outcome,
        reason_code=form.reason_code or None,
        reason_text=form.reason_text,
    )
    return redirect(f"/console/cases/{case_id}", status=303)


@bp.get("/materials/<upload_id:int>")
@page(*STAFF)
async def material_image(request: Request, upload_id: int) -> HTTPResponse:
    """A material as an image (a PDF's rendered page): the function and the access rule of
    ``GET /case-materials/{id}/file``."""
    data, content_type = await materials.file_of(container(request), principal(request), upload_id)
    return raw(data, content_type=content_type, headers=_file_headers())


@bp.get("/materials/<upload_id:int>/original")
@page(*STAFF)
async def material_original(request: Request, upload_id: int) -> HTTPResponse:
    """A material as uploaded, for embedding a PDF (the same access rule)."""
    data, content_type = await desk.original_file(container(request), principal(request), upload_id)
    return raw(data, content_type=content_type, headers=_file_headers())


@bp.get("/claims/<claim_id:int>/invoices/<invoice_id:int>/image")
@page(*STAFF)
async def invoice_image(request: Request, claim_id: int, invoice_id: int) -> HTTPResponse:
    data, content_type = await claim_views.invoice_image(
        container(request), principal(request), claim_id, invoice_id
    )
    return raw(data, content_type=content_type, headers=_file_headers())
