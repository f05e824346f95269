"""Enrollment status (参保状态) for citizens and staff; subsidy categories and person
registration for staff acting on someone's behalf (帮办代办)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.audit.service import record
from backend.clock import local_today
from backend.enrollment import service
from backend.identity.models import Role
from backend.identity.persons import find_or_create_person, person_view
from handlers.idempotency import idempotent
from handlers.request import body, container, parse_query, principal, requires

bp = Blueprint("enrollment", url_prefix="/enrollment")

STAFF = (Role.STATION_STAFF, Role.SUPERVISOR, Role.ADMIN)


class YearQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=2000, le=2100, description="保险年度，默认今年")


class SetCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: str | None = Field(max_length=32, description="资助参保类别代码；null 表示终止")
    valid_from: date
    valid_to: date | None = None
    note: str = Field(default="", max_length=200)


class RegisterPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(max_length=30)
    id_number: str = Field(max_length=32)


def _year(request: Request) -> int:
    query = parse_query(request, YearQuery)
    return query.year or local_today(container(request).clock).year


@bp.get("")
@openapi.summary("本人及家庭成员的参保状态")
@requires(Role.CITIZEN)
async def my_status(request: Request) -> HTTPResponse:
    c = container(request)
    return json(await service.my_family_status(c, principal(request), _year(request)))


@bp.get("/persons/<person_id:int>")
@openapi.summary("某人某年度的参保状态与应缴金额")
@requires(Role.CITIZEN, *STAFF)
async def person_status(request: Request, person_id: int) -> HTTPResponse:
    c = container(request)
    return json(await service.status_for(c, principal(request), person_id, _year(request)))


@bp.put("/persons/<person_id:int>/category")
@openapi.summary("登记资助参保类别（特困人员、低保对象等）")
@requires(*STAFF)
@body(SetCategory)
async def set_category(request: Request, person_id: int, body: SetCategory) -> HTTPResponse:
    view = await service.set_category(
        container(request),
        principal(request),
        person_id,
        category=body.category,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        note=body.note,
    )
    return json(view)


@bp.post("/persons")
@openapi.summary("服务站登记参保人员（帮办代办），返回人员编号")
@requires(*STAFF)
@idempotent
@body(RegisterPerson)
async def register_person(request: Request, body: RegisterPerson) -> HTTPResponse:
    c = container(request)
    person = await find_or_create_person(c, body.name, body.id_number)
    await record(
        c,
        actor=principal(request),
        action="enrollment.person.register",
        subject_type="person",
        subject_id=person.id,
    )
    return json(person_view(c, person), status=201)
