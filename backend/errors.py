"""Domain errors. Each has a stable code, an HTTP status and a Chinese message for the user.

Services raise these; the one error handler in ``handlers.errors`` turns them into
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "请求有误"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, **details: Any
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        super().__init__(f"{self.code}: {self.message}")


class InvalidInput(DomainError):
    status = 422
    code = "VALIDATION_FAILED"
    message = "提交的内容不符合要求"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"
    message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"
    message = "无权执行此操作"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    message = "未找到相关记录"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    message = "操作与当前状态冲突，请刷新后重试"


class TooManyRequests(DomainError):
    status = 429
    code = "RATE_LIMITED"
    message = "操作过于频繁，请稍后再试"


class Locked(DomainError):
    status = 423
    code = "ACCOUNT_LOCKED"
    message = "账户已被临时锁定，请稍后再试"
