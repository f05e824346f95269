"""Account administration (admins) and identity alerts (supervision staff)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.identity import binding, service
from backend.identity.models import Role
from handlers.contract import errors, responds
from handlers.request import body, container, principal, requires
from handlers.responses import DeactivateOut, IdentityAlertsOut

bp = Blueprint("accounts")


class Deactivation(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
async def identity_alerts(request: Request) -> HTTPResponse:
    return json(await binding.identity_alerts(container(request), principal(request)))
