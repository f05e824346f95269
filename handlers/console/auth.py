"""Console login and logout, and the landing redirects."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.errors import DomainError
from backend.identity import console_sessions
from handlers.console.web import (
    COOKIE,
    CSRF_FIELD,
    container,
    home_of,
    page,
    page_response,
    principal,
    session,
    set_cookie,
)

bp = Blueprint("console_auth")

LOGIN_CSRF = "yibao_login_csrf"


@bp.get("/")
async def root(request: Request) -> HTTPResponse:
    return redirect("/console/")


@bp.get("/console", strict_slashes=False)
@page()
async def home(request: Request) -> HTTPResponse:
    return redirect(home_of(principal(request)))


async def _login_page(request: Request, status: int = 200, error: str = "") -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    response = await page_response(
        request, "login.html", status=status, csrf_token=token, error=error
    )
    set_cookie(request, response, LOGIN_CSRF, token, max_age=1800)
    return response


@bp.get("/console/login")
async def login_form(request: Request) -> HTTPResponse:
    return await _login_page(request)


@bp.post("/console/login")
async def login(request: Request) -> HTTPResponse:
    form: Mapping[str, Any] = request.form or {}
    expected = request.cookies.get(LOGIN_CSRF) or ""
    if not expected or not hmac.compare_digest(expected, form.get(CSRF_FIELD) or ""):
        return await _login_page(request, 403, "页面已过期，请重新登录")
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    if not username or not password or len(username) > 64 or len(password) > 128:
        return await _login_page(request, 422, "请输入用户名和密码")
    try:
        value, s = await console_sessions.open_session(
            container(request), username, password, request.client_ip
        )
    except DomainError as exc:
        return await _login_page(request, exc.status, exc.message)
    response = redirect(home_of(s.principal), status=303)
    set_cookie(request, response, COOKIE, value)
    response.delete_cookie(LOGIN_CSRF, path="/console")
    return response


@bp.post("/console/logout")
@page()
async def logout(request: Request) -> HTTPResponse:
    await console_sessions.end(
        container(request), request.cookies.get(COOKIE) or "", session(request)
    )
    response = redirect("/console/login", status=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
