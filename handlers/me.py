"""The signed-in user's own profile and real-name binding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.identity import service
from backend.identity.models import Role
from handlers.request import body, container, principal, requires

bp = Blueprint("me")


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Lengths are only capped here; the domain checks give the precise Chinese messages.
    name: StrictStr = Field(min_length=1, max_length=30, description="姓名")
    id_number: StrictStr = Field(min_length=1, max_length=32, description="18 位居民身份证号码")
    phone: StrictStr | None = Field(default=None, max_length=20, description="手机号码（可选）")


@bp.get("/me")
@openapi.summary("我的资料（证件号码和手机号码已脱敏）")
@requires()
async def me(request: Request) -> HTTPResponse:
    return json(await service.me(container(request), principal(request)))


@bp.post("/me/binding")
@openapi.summary("实名绑定（姓名和身份证号码）")
@requires(Role.CITIZEN)
@body(Binding)
async def bind(request: Request, body: Binding) -> HTTPResponse:
    view = await service.bind_real_name(
        container(request), principal(request), body.name, body.id_number, body.phone
    )
    return json(view)
