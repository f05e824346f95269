"""E-voucher (医保电子凭证): the citizen's vouchers and codes, the published keys (JWKS) and the
fund-supervision alert list. Terminal endpoints are in ``handlers.terminal_vouchers``."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json, raw
from sanic_ext.extensions.openapi import openapi

from backend.identity.models import Role
from backend.vouchers import alerts, qr, service
from backend.vouchers.keys import jwks, keyring_for
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses.vouchers import (
    ListVouchersOut,
    VoucherAlertsOut,
    VoucherCodeOut,
    VoucherJwksOut,
    VoucherOut,
    VoucherUsesOut,
)
from handlers.schemas import StrictId

bp = Blueprint("vouchers")
well_known = Blueprint("voucher_jwks")

NO_STORE = {"Cache-Control": "no-store"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActivateIn(Strict):
    person_id: StrictId | None = Field(
        default=None, description="家庭成员的人员 id（亲情账户）；本人激活时不填"
    )


class RevokeIn(Strict):
    reason: str = Field(default="", max_length=100, description="挂失原因，如“手机丢失”")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=10000)
    size: int = Field(default=20, ge=1, le=100)


class CodeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "png", "svg"] = "json"


@bp.before_server_start
async def load_voucher_keys(app: Sanic) -> None:
    """Fail at start-up, not at the first code, when the signing keys are missing or refused."""
    keyring_for(app.ctx.container.settings)


@bp.post("/me/vouchers")
@openapi.summary("激活医保电子凭证（本人，或亲情账户中的家庭成员）")
@requires(Role.CITIZEN)
@idempotent
@body(ActivateIn)
@errors(403, "REAL_NAME_REQUIRED")
@errors(404, "PERSON_NOT_FOUND")
@errors(409, "FAMILY_VOUCHER_LIMIT", "VOUCHER_ALREADY_ACTIVE")
@responds(VoucherOut, status=201)
async def activate_voucher(request: Request, body: ActivateIn) -> HTTPResponse:
    view = await service.activate(container(request), principal(request), body.person_id)
    return json(view, status=201)


@bp.get("/me/vouchers")
@openapi.summary("我持有的医保电子凭证（本人及亲情账户）")
@requires(Role.CITIZEN)
@responds(ListVouchersOut)
async def list_vouchers(request: Request) -> HTTPResponse:
    return json(await service.list_vouchers(container(request), principal(request)))


@bp.get("/me/vouchers/<voucher_id:str>")
@openapi.summary("医保电子凭证详情")
@requires(Role.CITIZEN)
@errors(404, "VOUCHER_NOT_FOUND")
@responds(VoucherOut)
async def get_voucher(request: Request, voucher_id: str) -> HTTPResponse:
    return json(await service.get_voucher(container(request), principal(request), voucher_id))


@bp.post("/me/vouchers/<voucher_id:str>/revoke")
@openapi.summary("挂失（停用）医保电子凭证：此后出示的码一律拒绝")
@requires(Role.CITIZEN)
@idempotent
@body(RevokeIn)
@errors(404, "VOUCHER_NOT_FOUND")
@responds(VoucherOut)
async def revoke_voucher(request: Request, voucher_id: str, body: RevokeIn) -> HTTPResponse:
    view = await service.revoke(
        container(request), principal(request), voucher_id, reason=body.reason
    )
    return json(view)


@bp.post("/me/vouchers/<voucher_id:str>/reactivate")
@openapi.summary("重新激活已挂失的医保电子凭证")
@requires(Role.CITIZEN)
@idempotent
@errors(404, "VOUCHER_NOT_FOUND")
@errors(409, "VOUCHER_ALREADY_ACTIVE")
@responds(VoucherOut)
async def reactivate_voucher(request: Request, voucher_id: str) -> HTTPResponse:
    return json(await service.reactivate(container(request), principal(request), voucher_id))


@bp.get("/me/vouchers/<voucher_id:str>/code")
@openapi.summary("获取动态凭证码（JSON、PNG 或 SVG）")
@openapi.description(
    "每次请求签发一个新码（ES256 JWT，带 kid），有效期默认 60 秒，只能使用一次。"
    "format=json 返回原始字符串与二维码版本；png / svg 返回二维码图片，响应头 "
    "X-Voucher-Expires-At 为过期时间，X-QR-Version 为二维码版本（纠错等级 M 下为 11）。"
)
@requires(Role.CITIZEN)
@query(CodeQuery)
@errors(403, "FAMILY_AUTHORISATION_LAPSED")
@errors(404, "VOUCHER_NOT_FOUND")
@errors(409, "VOUCHER_NOT_ACTIVE")
@errors(429, "VOUCHER_CODE_RATE_LIMITED")
@responds(VoucherCodeOut, binary_types=("image/png", "image/svg+xml"))
async def voucher_code(request: Request, voucher_id: str, query: CodeQuery) -> HTTPResponse:
    fresh = await service.fresh_code(container(request), principal(request), voucher_id)
    if query.format == "json":
        version = await asyncio.to_thread(qr.qr_version, fresh.issued.code)
        payload = {**fresh.as_json(), "qr": {"version": version, "error_correction": "M"}}
        return json(payload, headers=NO_STORE)
    render = qr.render_png if query.format == "png" else qr.render_svg
    image = await asyncio.to_thread(render, fresh.issued.code)
    headers = {
        **NO_STORE,
        "X-Voucher-Expires-At": fresh.as_json()["expires_at"],
        "X-QR-Version": str(image.version),
    }
    return raw(image.content, content_type=image.content_type, headers=headers)


@bp.get("/me/vouchers/<voucher_id:str>/uses")
@openapi.summary("凭证使用记录：何时、在哪家机构使用")
@requires(Role.CITIZEN)
@query(PageQuery)
@errors(404, "VOUCHER_NOT_FOUND")
@responds(VoucherUsesOut)
async def voucher_uses(request: Request, voucher_id: str, query: PageQuery) -> HTTPResponse:
    return json(
        await service.list_uses(
            container(request), principal(request), voucher_id, page=query.page, size=query.size
        )
    )


@bp.get("/supervision/voucher-alerts")
@openapi.summary("基金监管：医保电子凭证异地使用提醒")
@requires(Role.SUPERVISOR, Role.ADMIN)
@query(PageQuery)
@responds(VoucherAlertsOut)
async def voucher_alerts(request: Request, query: PageQuery) -> HTTPResponse:
    return json(
        await alerts.list_alerts(
            container(request), principal(request), page=query.page, size=query.size
        )
    )


@well_known.get("/.well-known/jwks.json")
@openapi.summary("医保电子凭证验签公钥（JWKS）")
@openapi.description(
    "终端离线核验用：只接受 ES256，按 kid 选择公钥。"
    "轮换时新密钥提前发布，旧密钥在其签发的码全部过期后下架。"
)
@responds(VoucherJwksOut)
async def voucher_jwks(request: Request) -> HTTPResponse:
    c = container(request)
    return json(jwks(c.settings, c.clock.now()), headers={"Cache-Control": "public, max-age=60"})
