"""The signed-in user's own profile and real-name binding."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from backend.identity import binding, profile
from backend.identity.models import Role
from backend.identity.results import FaceSession, StationCode
from handlers.contract import errors, responds
from handlers.request import body, container, principal, requires
from handlers.responses.identity import FaceVerificationOut, ProfileOut, StationCodeOut
from handlers.schemas import IdNumber

bp = Blueprint("me")


class FaceVerificationStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Lengths are only capped here; the domain checks give the precise Chinese messages.
    name: StrictStr = Field(min_length=1, max_length=30, description="姓名")
    id_number: IdNumber


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verify_id: StrictStr = Field(
        min_length=1,
        max_length=256,
        description="人脸核身会话标识（wx.requestFacialVerify 完成后）",
    )
    phone: StrictStr | None = Field(default=None, max_length=20, description="手机号码（可选）")


@bp.get("/me")
@openapi.summary("我的资料（证件号码和手机号码已脱敏）")
@requires()
@responds(ProfileOut)
async def me(request: Request) -> dict[str, Any]:
    return await profile.me(container(request), principal(request))


@bp.post("/me/verification")
@openapi.summary("实名核身第一步：按姓名和身份证号码取得人脸核身会话标识 verify_id")
@requires(Role.CITIZEN)
@body(FaceVerificationStart)
@errors(409, "ALREADY_BOUND")
@errors(422, "ID_NUMBER_INVALID", "NAME_INVALID")
@errors(429, "RATE_LIMITED")
@errors(503, "FACE_VERIFICATION_UNAVAILABLE")
@responds(FaceVerificationOut, status=201)
async def start_verification(request: Request, body: FaceVerificationStart) -> FaceSession:
    return await binding.start_face_verification(
        container(request), principal(request), body.name, body.id_number
    )


@bp.post("/me/binding")
@openapi.summary("实名绑定：人脸核身完成后提交 verify_id，后台向微信核验结果后绑定")
@requires(Role.CITIZEN)
@body(Binding)
@errors(404, "VERIFICATION_NOT_FOUND")
@errors(
    409,
    "ALREADY_BOUND",
    "BINDING_BUSY",
    "ID_NUMBER_BOUND_ELSEWHERE",
    "VERIFICATION_EXPIRED",
    "VERIFICATION_USED",
)
@errors(422, "ID_NUMBER_INVALID", "IDENTITY_NOT_VERIFIED", "NAME_MISMATCH", "PHONE_INVALID")
@errors(429, "RATE_LIMITED")
@errors(503, "FACE_VERIFICATION_UNAVAILABLE")
@responds(ProfileOut)
async def bind(request: Request, body: Binding) -> dict[str, Any]:
    return await binding.bind_with_face(
        container(request), principal(request), body.verify_id, body.phone
    )


@bp.post("/me/binding/station-code")
@openapi.summary("到服务站实名绑定：取得一次性绑定码（10 分钟内有效），出示给工作人员")
@requires(Role.CITIZEN)
@errors(409, "ALREADY_BOUND")
@responds(StationCodeOut)
async def station_code(request: Request) -> StationCode:
    return await binding.station_binding_code(container(request), principal(request))
