"""Development-only endpoints: they play the phone's side of the local simulators.

:func:`register` adds this blueprint only outside production, so in production these paths do
not exist at all (404 for every method, like any unknown address).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.errors import InvalidInput, NotFound
from backend.identity.face import FaceOutcome, LocalFaceVerifier
from backend.identity.idp import LocalIdentityProvider
from backend.payments import access as payment_access
from backend.payments import orders as payment_orders
from backend.payments.runtime import runtime
from handlers.contract import errors, responds
from handlers.payments import READERS
from handlers.request import body, container, principal, requires
from handlers.responses.identity import DevFaceVerifyOut, DevLoginCodeOut
from handlers.responses.payments import OrderOut

bp = Blueprint("dev")


class DevLoginCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: StrictStr = Field(min_length=1, max_length=64, description="模拟的微信用户标识")


class DevFaceCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verify_id: StrictStr = Field(min_length=1, max_length=256)
    outcome: FaceOutcome = Field(
        description="pass：本人；fail：未通过；other_person：以他人身份完成核身"
    )


def _not_here() -> NotFound:
    return NotFound("请求的地址不存在")


@bp.post("/dev/login-code")
@openapi.summary("开发环境：模拟小程序 wx.login() 取得登录凭证（生产环境不存在）")
@body(DevLoginCode)
@errors(404, "NOT_FOUND")
@responds(DevLoginCodeOut)
async def dev_login_code(request: Request, body: DevLoginCode) -> HTTPResponse:
    idp = container(request).identity_provider
    if not isinstance(idp, LocalIdentityProvider):  # the real WeChat provider is configured
        raise _not_here()
    return json({"code": idp.issue_code(body.user)})


@bp.post("/dev/face-verify")
@openapi.summary("开发环境：模拟小程序 wx.requestFacialVerify 完成人脸核身（生产环境不存在）")
@body(DevFaceCheck)
@errors(404, "NOT_FOUND", "VERIFY_ID_UNKNOWN")
@responds(DevFaceVerifyOut)
async def dev_face_verify(request: Request, body: DevFaceCheck) -> HTTPResponse:
    verifier = container(request).face_verifier
    if not isinstance(verifier, LocalFaceVerifier):  # the real WeChat service is configured
        raise _not_here()
    if not verifier.face_check(body.verify_id, body.outcome):
        raise NotFound("人脸核身会话不存在或已过期", code="VERIFY_ID_UNKNOWN")
    return json({"verify_id": body.verify_id, "finished": True})


@bp.post("/payments/orders/<order_id:int>/simulate-pay")
@openapi.summary("开发环境：在本地支付模拟器中完成支付（生产环境不存在）")
@requires(*READERS)
@errors(404, "NOT_FOUND")
@errors(422, "SIMULATOR_REFUSED")
@responds(OrderOut)
async def simulate_pay(request: Request, order_id: int) -> HTTPResponse:
    c = container(request)
    sim = runtime(c).simulator
    if sim is None:
        raise _not_here()
    order = await payment_access.visible_order(c, principal(request), order_id)
    try:
        await sim.pay(order.out_trade_no)
    except (KeyError, ValueError) as exc:
        raise InvalidInput("该订单在模拟器中不可支付", code="SIMULATOR_REFUSED") from exc
    return json(await payment_orders.get_order(c, principal(request), order_id))
