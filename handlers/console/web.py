"""Console request plumbing: the session cookie, CSRF, roles, rendering and errors as pages.

Every console route is wrapped by :func:`page`: no session → the login page (htmx requests get
an ``HX-Redirect``); a role outside the route's roles → 403; a POST without the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``) → 403 and nothing changes; a domain
error → its Chinese message, as a page or, for htmx, a fragment in the page's message area.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.response import HTTPResponse, redirect
from sanic_ext import render

from backend.container import Container
from backend.errors import DomainError, InvalidInput
from backend.identity import console_sessions
from backend.identity.console_sessions import ConsoleSession
from backend.identity.models import Role
from backend.identity.principal import Principal
from workflows.vocabulary import FRONT_DESK, ROLES

COOKIE = "yibao_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
Handler = Callable[..., Awaitable[HTTPResponse]]

ROLE_LABELS = {Role(code): label for code, label in ROLES.items() if code != Role.CITIZEN}


def container(request: Request) -> Container:
    return request.app.ctx.container


def session(request: Request) -> ConsoleSession:
    return request.ctx.console


def principal(request: Request) -> Principal:
    return request.ctx.console.principal


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def set_cookie(request: Request, response: HTTPResponse, name: str, value: str, **kw: Any) -> None:
    response.add_cookie(
        name,
        value,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=container(request).settings.production,
        **kw,
    )


def navigation(p: Principal) -> list[tuple[str, str]]:
    """The pages of a role, as (path, label): what the menu shows."""
    role, cats = p.role, p.categories
    items: list[tuple[str, str]] = []
    if role is Role.STATION_STAFF:
        items += [
            ("/console/station", "本站办件"),
            ("/console/station/lookup", "查询参保人"),
            ("/console/station/new", "代办申请"),
            ("/console/acceptance", "综合受理"),
        ]
    if role is Role.REVIEWER:
        if FRONT_DESK in cats:
            items.append(("/console/acceptance", "综合受理"))
        items.append(("/console/review", "审核工作台"))
    if role is Role.FINANCE:
        items += [("/console/finance", "报销汇款")]
    if role is Role.SUPERVISOR:
        items += [
            ("/console/supervisor", "超期升级"),
            ("/console/review", "审核队列"),
            ("/console/stats", "统计"),
            ("/console/finance", "报销汇款"),
        ]
    if role is Role.ADMIN:
        items += [
            ("/console/admin/accounts", "账户"),
            ("/console/admin/stations", "服务站"),
            ("/console/admin/terminals", "终端"),
            ("/console/admin/audit", "审计链"),
            ("/console/stats", "统计"),
            ("/console/finance", "报销汇款"),
        ]
    return items


def home_of(p: Principal) -> str:
    return navigation(p)[0][0]


async def page_response(
    request: Request, template: str, status: int = 200, **context: Any
) -> HTTPResponse:
    s: ConsoleSession | None = getattr(request.ctx, "console", None)
    base = {
        "me": s,
        "role_label": ROLE_LABELS.get(s.principal.role, "") if s else "",
        "nav": navigation(s.principal) if s else [],
        "csrf_token": s.csrf_token if s else context.pop("csrf_token", ""),
        "path": request.path,
    }
    response = await render(template, status=status, context=base | context, app=request.app)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


async def error_response(request: Request, status: int, message: str, code: str) -> HTTPResponse:
    if is_htmx(request):
        response = await page_response(
            request, "_flash.html", status=status, message=message, code=code, level="error"
        )
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return await page_response(request, "error.html", status=status, message=message, code=code)


def _login_redirect(request: Request) -> HTTPResponse:
    if is_htmx(request):
        response = HTTPResponse(status=401)
        response.headers["HX-Redirect"] = "/console/login"
        return response
    return redirect("/console/login")


def form_values(request: Request) -> dict[str, Any]:
    """A urlencoded or multipart form as a dict: lists only where a field repeats."""
    return {k: v[0] if len(v) == 1 else v for k, v in (request.form or {}).items()}


def parse_form(request: Request, model: type[BaseModel]) -> Any:
    return parse_values(model, {k: v for k, v in form_values(request).items() if k != CSRF_FIELD})


def parse_values(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "；".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"填写的内容有误：{problems}") from exc


def page(*roles: Role) -> Callable[[Handler], Handler]:
    """A console route for ``roles`` (any staff when empty)."""

    def decorator(handler: Handler) -> Handler:
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            c = container(request)
            s = await console_sessions.resume(c, request.cookies.get(COOKIE) or "")
            if s is None:
                return _login_redirect(request)
            request.ctx.console = s
            if roles and s.principal.role not in roles:
                return await error_response(request, 403, "您的岗位无权访问该页面", "FORBIDDEN")
            if request.method not in ("GET", "HEAD"):
                form = request.form
                presented = request.headers.get(CSRF_HEADER) or (
                    form.get(CSRF_FIELD) if form else None
                )
                if not s.csrf_ok(presented):
                    return await error_response(
                        request, 403, "页面已过期或请求来源不明，请刷新页面后重试", "CSRF_FAILED"
                    )
            try:
                return await handler(request, *args, **kwargs)
            except DomainError as exc:
                return await error_response(request, exc.status, exc.message, exc.code)

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return wrapper

    return decorator
