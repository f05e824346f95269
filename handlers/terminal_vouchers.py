"""E-voucher endpoints for pharmacy and hospital terminals, authenticated by request signatures
(``handlers.terminal.terminal_auth``; protocol in ``backend.terminals.service``)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from backend.errors import DomainError
from backend.vouchers import verification
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import Handler, body, container, wraps_documented
from handlers.responses.vouchers import ReportUsesOut, VerifyCodeOut
from handlers.terminal import (
    terminal,
    terminal_auth,
    terminal_auth_deferring_nonce,
    terminal_nonce,
)

bp = Blueprint("terminal_vouchers", url_prefix="/terminal/vouchers")

VERIFY_MAX_BODY = 8 * 1024  # a code is capped at 1 KB; the rest is headroom for the JSON
USES_MAX_BODY = 256 * 1024

PURPOSE = Field(pattern=r"^[0-9]{5}$", description="用码业务类型，如 02121 药店购药、01301 结算")


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "请求内容过大"


def limit_body(max_bytes: int):
    """Refuse an oversized body before the signature is computed over it."""

    def decorator(handler: Handler) -> Handler:
        @wraps_documented(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            if len(request.body or b"") > max_bytes:
                raise PayloadTooLarge(max_bytes=max_bytes)
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorator


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="扫码得到的凭证码原文（不超过 1024 个字符）")
    purpose: str = PURPOSE


class UseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="离线核验过的凭证码原文")
    used_at: AwareDatetime = Field(description="终端离线核验的时间（带时区）")
    purpose: str = PURPOSE


class UsesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uses: list[UseIn] = Field(min_length=1, max_length=500)


@bp.post("/verify")
@openapi.summary("核验医保电子凭证码（在线）")
@openapi.description(
    "校验签名（仅 ES256，按 kid 取公钥）、有效期（允许少量时钟偏差）、一次性使用、"
    "凭证状态和本年度参保状态，"
    "返回脱敏身份、险种与参保状态、慢特病资格与异地就医备案，并记录本次使用。"
)
@limit_body(VERIFY_MAX_BODY)
@terminal_auth_deferring_nonce
@body(VerifyIn)
@errors(403, "VOUCHER_REVOKED")
@errors(409, "VOUCHER_CODE_USED")
@errors(
    422,
    "VOUCHER_CODE_ALGORITHM_REJECTED",
    "VOUCHER_CODE_EXPIRED",
    "VOUCHER_CODE_MALFORMED",
    "VOUCHER_CODE_NOT_YET_VALID",
    "VOUCHER_CODE_TOO_LONG",
    "VOUCHER_KEY_RETIRED",
    "VOUCHER_KEY_UNKNOWN",
    "VOUCHER_PURPOSE_UNKNOWN",
    "VOUCHER_SIGNATURE_INVALID",
)
@responds(VerifyCodeOut)
async def verify_code(request: Request, body: VerifyIn) -> dict[str, Any]:
    # The request's nonce is written with the use, in the same statement.
    return await verification.verify_online(
        container(request),
        terminal(request),
        code=body.code,
        purpose=body.purpose,
        nonce=terminal_nonce(request),
    )


@bp.post("/uses")
@openapi.summary("上报离线核验的凭证使用记录（批量）")
@openapi.description(
    "终端用 /.well-known/jwks.json 离线核验后补报。每条按使用时间校验签名与有效期，"
    "同一个码只记录一次；"
    "已被使用的码在该条结果中报告为 conflict。同一终端重复上报同一条视为已记录（duplicate）。"
)
@limit_body(USES_MAX_BODY)
@terminal_auth
@idempotent
@body(UsesIn)
@errors(422, "VOUCHER_BATCH_TOO_LARGE")
@responds(ReportUsesOut)
async def report_uses(request: Request, body: UsesIn) -> dict[str, Any]:
    entries = [verification.OfflineUse(u.code, u.used_at, u.purpose) for u in body.uses]
    return await verification.report_offline(container(request), terminal(request), entries)
