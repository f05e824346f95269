"""Family members (亲情账户) of the signed-in citizen, and consent requests addressed to them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty
from sanic_ext.extensions.openapi import openapi

from backend.family import guardianship, service
from backend.family.models import Relation
from backend.family.results import ConsentRequest, ConsentRequests, Family, MemberView, Objection
from backend.identity.models import Role
from backend.stations import assisted
from backend.stations.results import SignedForm, SignedForms
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, requires
from handlers.responses.family import (
    FamilyMemberOut,
    GrantConsentOut,
    GuardianshipObjectionOut,
    ListConsentsOut,
    ListFamilyOut,
    MyAuthorisationOut,
    MyAuthorisationsOut,
)
from handlers.schemas import IdNumber

bp = Blueprint("family")


class AddMember(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    relation: Relation = Field(description="与本人关系")
    # Lengths are only capped here; the domain checks give the precise Chinese messages.
    name: str = Field(max_length=30, description="家庭成员姓名")
    id_number: IdNumber = Field(description="家庭成员身份证号码（18 位）")


@bp.get("/me/family")
@openapi.summary("我的家庭成员")
@requires(Role.CITIZEN)
@errors(403, "REAL_NAME_REQUIRED")
@responds(ListFamilyOut)
async def list_family(request: Request) -> Family:
    return await service.list_members(container(request), principal(request))


@bp.post("/me/family")
@openapi.summary("添加家庭成员（成年成员须本人同意或服务站登记授权）")
@requires(Role.CITIZEN)
@idempotent
@body(AddMember)
@errors(403, "REAL_NAME_REQUIRED")
@errors(409, "FAMILY_LIMIT_REACHED", "FAMILY_MEMBER_EXISTS")
@errors(422, "FAMILY_SELF", "ID_NUMBER_INVALID", "NAME_INVALID", "NAME_MISMATCH")
@responds(FamilyMemberOut, status=201)
async def add_family_member(request: Request, body: AddMember) -> MemberView:
    view = await service.add_member(
        container(request),
        principal(request),
        relation=body.relation,
        name=body.name,
        id_number=body.id_number,
    )
    return view


@bp.get("/me/family/<member_id:int>")
@openapi.summary("家庭成员详情")
@requires(Role.CITIZEN)
@errors(404, "FAMILY_MEMBER_NOT_FOUND")
@responds(FamilyMemberOut)
async def get_family_member(request: Request, member_id: int) -> MemberView:
    return await service.get_member(container(request), principal(request), member_id)


@bp.delete("/me/family/<member_id:int>")
@openapi.summary("移除家庭成员")
@requires(Role.CITIZEN)
@errors(404, "FAMILY_MEMBER_NOT_FOUND")
@responds(None, status=204)
async def remove_family_member(request: Request, member_id: int) -> HTTPResponse:
    await service.remove_member(container(request), principal(request), member_id)
    return empty()


@bp.get("/me/consents")
@openapi.summary("他人将我添加为家庭成员的请求")
@requires(Role.CITIZEN)
@responds(ListConsentsOut)
async def list_consents(request: Request) -> ConsentRequests:
    return await service.list_consents(container(request), principal(request))


@bp.post("/me/consents/<link_id:int>/grant")
@openapi.summary("同意成为对方的家庭成员")
@requires(Role.CITIZEN)
@errors(404, "CONSENT_REQUEST_NOT_FOUND")
@responds(GrantConsentOut)
async def grant_consent(request: Request, link_id: int) -> ConsentRequest:
    return await service.grant_consent(container(request), principal(request), link_id)


@bp.post("/me/consents/<link_id:int>/decline")
@openapi.summary("拒绝或撤回同意（对方的家庭成员关系随之解除）")
@requires(Role.CITIZEN)
@responds(None, status=204)
async def decline_consent(request: Request, link_id: int) -> HTTPResponse:
    await service.decline_consent(container(request), principal(request), link_id)
    return empty()


@bp.get("/me/authorisations")
@openapi.summary("我在服务站签署的授权书（可撤回）")
@requires(Role.CITIZEN)
@errors(403, "REAL_NAME_REQUIRED")
@responds(MyAuthorisationsOut)
async def my_authorisations(request: Request) -> SignedForms:
    return await assisted.my_authorisations(container(request), principal(request))


@bp.post("/me/authorisations/<form_id:int>/withdraw")
@openapi.summary("撤回我在服务站签署的授权（据此建立的家庭成员关系随之解除）")
@requires(Role.CITIZEN)
@errors(403, "REAL_NAME_REQUIRED")
@responds(MyAuthorisationOut)
async def withdraw_authorisation(request: Request, form_id: int) -> SignedForm:
    return await assisted.withdraw(container(request), principal(request), form_id)


@bp.post("/me/family/guardianship/<link_id:int>/objection")
@openapi.summary("监护人对他人添加本人监护的未成年人提出异议（该关系冻结，待服务站核实）")
@requires(Role.CITIZEN)
@errors(403, "REAL_NAME_REQUIRED")
@errors(404, "FAMILY_MEMBER_NOT_FOUND")
@errors(409, "OBJECTION_NOT_POSSIBLE")
@responds(GuardianshipObjectionOut)
async def object_to_guardianship(request: Request, link_id: int) -> Objection:
    return await guardianship.object_to(container(request), principal(request), link_id)
