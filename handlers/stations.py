"""Service stations (the hierarchy and delegated items) and assisted service at a station:
authorisation forms recorded by clerks and the clerk's citizen look-up."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.family import guardianship
from backend.family.guardianship import Decision, GuardianshipDocument
from backend.family.results import GuardianshipChecked
from backend.identity import binding
from backend.identity.models import Role
from backend.identity.results import StationBound
from backend.stations import assisted, service
from backend.stations.assisted import AuthorisationPurpose
from backend.stations.results import (
    AuthorisationPage,
    AuthorisationView,
    CitizenFound,
    RecordedAuthorisation,
)
from handlers.contract import errors, multipart, responds
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
from handlers.responses.stations import (
    CitizenLookupOut,
    GetAuthorisationOut,
    GuardianshipCheckOut,
    ListAuthorisationsOut,
    RecordAuthorisationOut,
    StationBindingOut,
    StationOut,
    StationTreeOut,
)
from handlers.schemas import Id, IdNumber, ServiceCode

bp = Blueprint("stations")

_STAFF = (Role.STATION_STAFF, Role.SUPERVISOR, Role.ADMIN)


class UpdateItems(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    items: list[ServiceCode] = Field(max_length=50, description="下放的服务事项编码")
    reason: str = Field(default="", max_length=200, description="调整说明")


class RecordAuthorisation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    grantor_name: str = Field(max_length=30, description="授权人姓名（家庭成员同意时为该成员）")
    grantor_id_number: IdNumber = Field(description="授权人身份证号码")
    grantee_name: str = Field(max_length=30, description="被授权人姓名（账户持有人或代办人）")
    grantee_id_number: IdNumber = Field(description="被授权人身份证号码")
    purpose: AuthorisationPurpose
    form_number: str = Field(
        min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-_/]+$", description="授权书编号"
    )
    grantor_id_card_checked: bool = Field(
        description="授权人本人到场，工作人员已当面核验其居民身份证原件"
    )
    note: str = Field(default="", max_length=200)


class AuthorisationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    station_id: Id | None = None
    purpose: AuthorisationPurpose | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class StationBinding(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(
        min_length=8, max_length=8, pattern=r"^[0-9]{8}$", description="群众出示的绑定码"
    )
    name: str = Field(max_length=30, description="身份证上的姓名")
    id_number: IdNumber = Field(description="身份证号码")
    id_card_checked: bool = Field(description="已当面核验居民身份证原件，且持证人即本人")


class GuardianshipCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    guardian_id_number: IdNumber = Field(description="监护人身份证号码")
    minor_id_number: IdNumber = Field(description="未成年人身份证号码")
    document_type: GuardianshipDocument = Field(
        description="出生医学证明或户口簿（已当面核验原件）"
    )
    document_number: str = Field(min_length=1, max_length=64, description="证件编号")
    decision: Decision = Field(default=Decision.CONFIRM, description="确认监护关系或解除")


class CitizenLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id_number: IdNumber = Field(description="参保人身份证号码")
    reason: str = Field(max_length=200, description="查询事由（记入审计日志）")


@bp.get("/stations")
@openapi.summary("服务站层级（区县 → 乡镇/街道 → 村/社区）及下放事项")
@requires()
@responds(StationTreeOut)
async def station_tree(request: Request) -> HTTPResponse:
    return json(
        {
            "items": await service.station_tree(container(request)),
            "service_items": service.item_views(service.SERVICE_ITEMS),
        }
    )


@bp.get("/stations/<station_id:int>")
@openapi.summary("服务站详情")
@requires()
@errors(404, "STATION_NOT_FOUND")
@responds(StationOut)
async def station_detail(request: Request, station_id: int) -> HTTPResponse:
    return json(await service.station_detail(container(request), station_id))


@bp.put("/stations/<station_id:int>/items")
@openapi.summary("调整服务站下放事项（管理员）")
@requires(Role.ADMIN)
@body(UpdateItems)
@errors(404, "STATION_NOT_FOUND")
@errors(409, "ITEMS_STILL_DELEGATED_TO_CHILDREN")
@errors(422, "ITEMS_NOT_DELEGATED_BY_PARENT", "SERVICE_ITEM_UNKNOWN")
@responds(StationOut)
async def update_items(request: Request, station_id: int, body: UpdateItems) -> HTTPResponse:
    c = container(request)
    await service.update_delegated_items(
        c, principal(request), station_id, body.items, reason=body.reason
    )
    return json(await service.station_detail(c, station_id))


@bp.post("/station/authorisations")
@openapi.summary(
    "登记授权人本人到场签署的授权书（multipart：字段 + 签字授权书扫描件 signed_form；"
    "须当面核验授权人身份证）"
)
@requires(Role.STATION_STAFF)
@idempotent
@multipart(
    RecordAuthorisation,
    signed_form=("签字授权书扫描件（JPEG、PNG 或一页 PDF）", "application/octet-stream"),
)
@errors(403, "NO_STATION", "STATION_STAFF_ONLY")
@errors(409, "FORM_ALREADY_RECORDED", "PERSON_BUSY")
@errors(
    422,
    "AUTHORISATION_SELF",
    "ID_CARD_NOT_CHECKED",
    "ID_NUMBER_INVALID",
    "NAME_INVALID",
    "NAME_MISMATCH",
)
@upload_errors
@responds(RecordAuthorisationOut, status=201)
async def record_authorisation(request: Request) -> RecordedAuthorisation:
    form = parse_form(request, RecordAuthorisation)
    view = await assisted.record_authorisation(
        container(request),
        principal(request),
        **form.model_dump(),
        signed_form=uploaded_file(request, "signed_form"),
    )
    return view


@bp.get("/station/authorisations")
@openapi.summary("本服务站的授权登记记录")
@requires(*_STAFF)
@query(AuthorisationQuery)
@responds(ListAuthorisationsOut)
async def list_authorisations(request: Request, query: AuthorisationQuery) -> AuthorisationPage:
    return await assisted.list_authorisations(
        container(request), principal(request), **query.model_dump()
    )


@bp.get("/station/authorisations/<form_id:int>")
@openapi.summary("授权登记记录详情")
@requires(*_STAFF)
@errors(404, "AUTHORISATION_NOT_FOUND")
@responds(GetAuthorisationOut)
async def get_authorisation(request: Request, form_id: int) -> AuthorisationView:
    return await assisted.get_authorisation(container(request), principal(request), form_id)


@bp.post("/station/citizen-lookup")
@openapi.summary("按身份证号码查询参保人（帮办代办用，须填写事由，记入审计）")
@requires(*_STAFF)
@body(CitizenLookup)
@errors(404, "PERSON_NOT_FOUND")
@errors(422, "ID_NUMBER_INVALID", "REASON_REQUIRED")
@responds(CitizenLookupOut)
async def citizen_lookup(request: Request, body: CitizenLookup) -> CitizenFound:
    return await assisted.citizen_lookup(
        container(request), principal(request), id_number=body.id_number, reason=body.reason
    )


@bp.post("/station/real-name-bindings")
@openapi.summary("服务站实名绑定：工作人员当面核验身份证原件后，为出示绑定码的账户绑定（记入审计）")
@requires(Role.STATION_STAFF)
@body(StationBinding)
@errors(403, "STATION_STAFF_ONLY")
@errors(404, "BINDING_CODE_INVALID")
@errors(409, "ALREADY_BOUND", "BINDING_BUSY")
@errors(422, "ID_CARD_NOT_CHECKED", "ID_NUMBER_INVALID", "NAME_INVALID", "NAME_MISMATCH")
@responds(StationBindingOut, status=201)
async def bind_real_name(request: Request, body: StationBinding) -> StationBound:
    view = await binding.bind_at_station(
        container(request),
        principal(request),
        code=body.code,
        name=body.name,
        id_number=body.id_number,
        card_checked=body.id_card_checked,
    )
    return view


@bp.post("/station/guardianship-checks")
@openapi.summary("服务站核验出生医学证明或户口簿原件，确认或解除监护关系（记入审计）")
@requires(Role.STATION_STAFF)
@body(GuardianshipCheck)
@errors(403, "STATION_STAFF_ONLY")
@errors(404, "GUARDIANSHIP_NOT_FOUND")
@errors(422, "DOCUMENT_NUMBER_REQUIRED", "ID_NUMBER_INVALID")
@responds(GuardianshipCheckOut, status=201)
async def check_guardianship(request: Request, body: GuardianshipCheck) -> GuardianshipChecked:
    view = await guardianship.station_check(
        container(request), principal(request), **body.model_dump()
    )
    return view
