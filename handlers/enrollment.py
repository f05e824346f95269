"""Enrollment status (参保状态) for citizens and staff; subsidy categories and person
registration for staff acting on someone's behalf (帮办代办)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.clock import local_today
from backend.enrollment import categories, service
from backend.enrollment.models import ChangeStatus
from backend.enrollment.results import CategoryChanges, CategoryChangeView, CategoryDecision
from backend.identity.models import Role
from handlers.contract import Handler, errors, multipart, responds
from handlers.idempotency import idempotent
from handlers.request import (
    body,
    container,
    parse_form,
    principal,
    query,
    requires,
    upload_errors,
    uploaded_file,
)
from handlers.responses.enrollment import (
    CategoryChangeOut,
    CategoryChangesOut,
    CategoryDecisionOut,
    EnrollmentStatusOut,
    MyStatusOut,
    PersonOut,
)
from handlers.schemas import IdNumber, SubsidyCategoryCode

bp = Blueprint("enrollment", url_prefix="/enrollment")

STAFF = (Role.STATION_STAFF, Role.SUPERVISOR, Role.ADMIN)


class YearQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=2000, le=2100, description="保险年度，默认今年")


class CategoryProposal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: SubsidyCategoryCode | None = Field(
        default=None, description="资助参保类别代码；不填表示终止现有类别"
    )
    valid_from: date
    valid_to: date | None = None
    evidence_number: str = Field(min_length=1, max_length=64, description="认定文件编号")
    note: str = Field(default="", max_length=200)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(default="", max_length=200, description="审核意见")


class ChangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ChangeStatus | None = None


class RegisterPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(max_length=30)
    id_number: IdNumber


def decision_errors(handler: Handler) -> Handler:
    """What deciding a category change can be refused for (``categories.decide``)."""
    handler = errors(403, "SECOND_PERSON_REQUIRED")(handler)
    handler = errors(404, "CATEGORY_CHANGE_NOT_FOUND")(handler)
    return errors(409, "CATEGORY_CHANGE_DECIDED")(handler)


def _year(request: Request, query: YearQuery) -> int:
    return query.year or local_today(container(request).clock).year


@bp.get("")
@openapi.summary("本人及家庭成员的参保状态")
@requires(Role.CITIZEN)
@query(YearQuery)
@responds(MyStatusOut)
async def my_status(request: Request, query: YearQuery) -> HTTPResponse:
    c = container(request)
    return json(await service.my_family_status(c, principal(request), _year(request, query)))


@bp.get("/persons/<person_id:int>")
@openapi.summary("某人某年度的参保状态与应缴金额")
@requires(Role.CITIZEN, *STAFF)
@query(YearQuery)
@responds(EnrollmentStatusOut)
async def person_status(request: Request, person_id: int, query: YearQuery) -> HTTPResponse:
    c = container(request)
    return json(await service.status_for(c, principal(request), person_id, _year(request, query)))


@bp.post("/persons/<person_id:int>/category-changes")
@openapi.summary(
    "提出资助参保类别变更（multipart：认定文件编号等字段 + 认定文件扫描件 evidence），"
    "须另一名工作人员审核后生效"
)
@requires(*STAFF)
@multipart(
    CategoryProposal,
    evidence=("认定文件扫描件（JPEG、PNG 或一页 PDF）", "application/octet-stream"),
)
@errors(422, "DATE_RANGE_INVALID", "EVIDENCE_NUMBER_REQUIRED", "UNKNOWN_SUBSIDY_CATEGORY")
@upload_errors
@responds(CategoryChangeOut, status=201)
async def propose_category(request: Request, person_id: int) -> CategoryChangeView:
    form = parse_form(request, CategoryProposal)
    view = await categories.propose(
        container(request),
        principal(request),
        person_id,
        category=form.category or None,
        valid_from=form.valid_from,
        valid_to=form.valid_to,
        evidence_number=form.evidence_number,
        evidence=uploaded_file(request, "evidence"),
        note=form.note,
    )
    return view


@bp.post("/category-changes/<change_id:int>/approve")
@openapi.summary("审核通过资助参保类别变更（须为提出人以外的工作人员），随即生效")
@requires(*STAFF)
@body(Decision)
@decision_errors
@responds(CategoryDecisionOut)
async def approve_category(request: Request, change_id: int, body: Decision) -> CategoryDecision:
    view = await categories.decide(
        container(request), principal(request), change_id, approve=True, note=body.note
    )
    return view


@bp.post("/category-changes/<change_id:int>/reject")
@openapi.summary("驳回资助参保类别变更")
@requires(*STAFF)
@body(Decision)
@decision_errors
@responds(CategoryDecisionOut)
async def reject_category(request: Request, change_id: int, body: Decision) -> CategoryDecision:
    view = await categories.decide(
        container(request), principal(request), change_id, approve=False, note=body.note
    )
    return view


@bp.get("/category-changes")
@openapi.summary("监管：资助参保类别变更记录")
@requires(Role.SUPERVISOR, Role.ADMIN)
@query(ChangeQuery)
@responds(CategoryChangesOut)
async def list_category_changes(request: Request, query: ChangeQuery) -> CategoryChanges:
    return await categories.list_changes(container(request), principal(request), query.status)


@bp.post("/persons")
@openapi.summary("服务站登记参保人员（帮办代办），返回人员编号")
@requires(*STAFF)
@idempotent
@body(RegisterPerson)
@errors(422, "ID_NUMBER_INVALID", "NAME_INVALID", "NAME_MISMATCH")
@responds(PersonOut, status=201)
async def register_person(request: Request, body: RegisterPerson) -> HTTPResponse:
    view = await service.register_person(
        container(request), principal(request), body.name, body.id_number
    )
    return json(view, status=201)
