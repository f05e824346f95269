"""One error format for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, SanicException
from sanic.response import HTTPResponse, json

from backend.errors import DomainError, NotFound
from backend.infra.outage import OUTAGES, RETRY_AFTER_S, unavailable_dependency
from handlers.contract import MAX_ID

log = logging.getLogger("yibao.errors")

# Messages for failures raised by the framework itself (routing, body parsing, limits)
_FRAMEWORK: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "请求格式有误"),
    401: ("UNAUTHORIZED", "请先登录"),
    403: ("FORBIDDEN", "无权执行此操作"),
    404: ("NOT_FOUND", "请求的地址不存在"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
    408: ("REQUEST_TIMEOUT", "请求超时"),
    413: ("PAYLOAD_TOO_LARGE", "上传内容过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型"),
    416: ("RANGE_NOT_SATISFIABLE", "请求范围无效"),
    503: ("SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试"),
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> HTTPResponse:
    return json({"error": {"code": code, "message": message, "details": details or {}}}, status)


def unavailable_response() -> HTTPResponse:
    """503 in the one error format, with ``Retry-After`` (seconds)."""
    code, message = _FRAMEWORK[503]
    response = error_response(503, code, message, {"retry_after_s": RETRY_AFTER_S})
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def register_error_handlers(app: Sanic) -> None:
    @app.exception(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> HTTPResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception(SanicException)
    async def framework_error(request: Request, exc: SanicException) -> HTTPResponse:
        status = exc.status_code or 500
        if status >= 500 and status not in _FRAMEWORK:
            log.exception("framework error on %s %s", request.method, request.path)
            return error_response(500, "INTERNAL_ERROR", "系统繁忙，请稍后重试")
        code, message = _FRAMEWORK.get(status, ("BAD_REQUEST", "请求有误"))
        response = error_response(status, code, message)
        if isinstance(exc, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(_allowed(request, exc)))
        return response

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTTPResponse:
        dependency = unavailable_dependency(exc)
        if dependency is not None:  # the database or Redis is down: logged once per outage
            OUTAGES.failed(dependency, exc)
            return unavailable_response()
        # The request id in the log line lets an operator find the trace; the body stays generic.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "INTERNAL_ERROR", "系统繁忙，请稍后重试")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request, exc: MethodNotAllowed) -> set[str]:
    """Every method some route of this path answers (RFC 9110 15.5.6: 405 lists them)."""
    methods = set(getattr(exc, "allowed_methods", None) or ())
    for method in _METHODS:
        try:
            request.app.router.get(request.path, method, request.headers.get("host"))
        except SanicException:
            continue
        methods.add(method)
    return methods


def reject_ids_out_of_range(request: Request) -> None:
    """A path id outside 1..MAX_ID is a 404: no such record can exist."""
    route = request.route
    if route is None:
        return
    for param in route.params.values():
        if param.cast is int:
            value = request.match_info.get(param.name)
            if isinstance(value, int) and not 1 <= value <= MAX_ID:
                raise NotFound()
