"""Person registration (参保登记) at the station desk."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Request
from sanic.response import HTTPResponse

from backend.enrollment import service as enrollment
from backend.identity.models import Role
from handlers.console.station import bp, require_item
from handlers.console.web import container, page, page_response, parse_form, principal
from workflows.vocabulary import ENROLLMENT


class RegisterForm(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    id_number: str = Field(min_length=15, max_length=18)


@bp.get("/enrollment")
@page(Role.STATION_STAFF)
async def enrollment_form(request: Request) -> HTTPResponse:
    await require_item(request, ENROLLMENT)
    return await page_response(request, "station_enrollment.html", registered=None)


@bp.post("/enrollment")
@page(Role.STATION_STAFF)
async def enrollment_register(request: Request) -> HTTPResponse:
    """Register a person not yet on record (the function of ``POST /enrollment/persons``)."""
    await require_item(request, ENROLLMENT)
    form: RegisterForm = parse_form(request, RegisterForm)
    registered = await enrollment.register_person(
        container(request), principal(request), form.name, form.id_number
    )
    return await page_response(request, "station_enrollment.html", registered=registered)
