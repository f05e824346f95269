"""Account administration (admins); identity alerts and the review of payouts frozen by a
reclaim (supervision staff)."""

from __future__ import annotations

from pydantic import Field, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.claims import payout_review
from backend.claims.results import FrozenPayout, FrozenPayouts
from backend.identity import binding, service
from backend.identity.models import Role
from backend.identity.results import IdentityAlerts
from handlers.contract import errors, responds
from handlers.request import body, container, principal, requires
from handlers.responses.identity import (
    DeactivateOut,
    FrozenPayoutOut,
    FrozenPayoutsOut,
    IdentityAlertsOut,
)
from handlers.schemas import Strict

bp = Blueprint("accounts")


class Deactivation(Strict):
    reason: StrictStr = Field(min_length=4, max_length=200, description="停用原因（记入审计）")


@bp.post("/admin/accounts/<account_id:int>/deactivate")
@openapi.summary("停用账户：立即结束其所有登录会话")
@requires(Role.ADMIN)
@body(Deactivation)
@errors(409, "ACCOUNT_ALREADY_DISABLED")
@responds(DeactivateOut)
async def deactivate(request: Request, account_id: int, body: Deactivation) -> HTTPResponse:
    result = await service.deactivate_account(
        container(request), principal(request), account_id, body.reason
    )
    return json(result)


@bp.get("/supervision/identity-alerts")
@openapi.summary("监管：被他人绑定后由本人取回的身份（及冻结的收款账户）")
@requires(Role.SUPERVISOR, Role.ADMIN)
@responds(IdentityAlertsOut)
async def identity_alerts(request: Request) -> IdentityAlerts:
    return await binding.identity_alerts(container(request), principal(request))


@bp.get("/supervision/frozen-payouts")
@openapi.summary("监管：身份取回后冻结待核查的报销收款账户")
@requires(Role.SUPERVISOR, Role.ADMIN)
@responds(FrozenPayoutsOut)
async def frozen_payouts(request: Request) -> FrozenPayouts:
    return await payout_review.frozen_payouts(container(request), principal(request))


class PayoutRelease(Strict):
    reason: StrictStr = Field(min_length=4, max_length=200, description="核查结论（记入审计）")
    bank_name: StrictStr | None = Field(
        default=None, min_length=2, max_length=60, description="改为本人提供的账户时：开户银行"
    )
    bank_account: StrictStr | None = Field(
        default=None,
        pattern=r"^[0-9 ]{12,40}$",
        description="改为本人提供的银行账号；不填则按原账户解冻",
    )


@bp.post("/supervision/frozen-payouts/<claim_id:int>/release")
@openapi.summary("监管：核查后解冻报销收款账户（可改为本人提供的账户）")
@requires(Role.SUPERVISOR, Role.ADMIN)
@body(PayoutRelease)
@errors(404, "CLAIM_NOT_FOUND")
@errors(409, "PAYOUT_NOT_FROZEN")
@errors(422, "BANK_ACCOUNT_INVALID")
@responds(FrozenPayoutOut)
async def release_payout(request: Request, claim_id: int, body: PayoutRelease) -> FrozenPayout:
    result = await payout_review.release(
        container(request),
        principal(request),
        claim_id,
        reason=body.reason,
        bank_name=body.bank_name,
        bank_account=body.bank_account,
    )
    return result
