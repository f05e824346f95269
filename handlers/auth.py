"""Login, token refresh and logout."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json
from sanic_ext.extensions.openapi import openapi

from backend.identity import service
from handlers.contract import errors, responds
from handlers.request import body, container, principal, requires
from handlers.responses.identity import LoginOut, RefreshOut

bp = Blueprint("auth")


class CitizenLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: StrictStr = Field(
        min_length=1, max_length=256, description="小程序 wx.login() 返回的 code"
    )


class StaffLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: StrictStr = Field(min_length=1, max_length=64, description="工作人员用户名")
    password: StrictStr = Field(min_length=1, max_length=128, description="密码")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: StrictStr = Field(min_length=1, max_length=1024)


@bp.post("/auth/citizen/login")
@openapi.summary("公众用户登录（小程序登录凭证换取令牌）")
@body(CitizenLogin)
@errors(401, "LOGIN_CODE_INVALID")
@errors(429, "RATE_LIMITED")
@responds(LoginOut)
async def citizen_login(request: Request, body: CitizenLogin) -> HTTPResponse:
    result = await service.citizen_login(container(request), body.code, request.client_ip)
    return json(result.as_json())


@bp.post("/auth/staff/login")
@openapi.summary("工作人员登录（用户名和密码）")
@body(StaffLogin)
@errors(401, "INVALID_CREDENTIALS")
@errors(403, "ACCOUNT_DISABLED")
@errors(423, "ACCOUNT_LOCKED")
@errors(429, "RATE_LIMITED")
@responds(LoginOut)
async def staff_login(request: Request, body: StaffLogin) -> HTTPResponse:
    result = await service.staff_login(
        container(request), body.username, body.password, request.client_ip
    )
    return json(result.as_json())


@bp.post("/auth/refresh")
@openapi.summary("刷新令牌（旧的刷新令牌随即失效）")
@body(RefreshRequest)
@errors(401, "REFRESH_TOKEN_INVALID", "REFRESH_TOKEN_REUSED")
@responds(RefreshOut)
async def refresh(request: Request, body: RefreshRequest) -> HTTPResponse:
    pair = await service.refresh(container(request), body.refresh_token)
    return json(pair.as_json())


@bp.post("/auth/logout")
@openapi.summary("退出登录（撤销本次登录的全部令牌）")
@requires()
@responds(None, status=204)
async def logout(request: Request) -> HTTPResponse:
    await service.logout(container(request), principal(request))
    return empty()
