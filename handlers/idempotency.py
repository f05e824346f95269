"""``@idempotent``: honour an ``Idempotency-Key`` on commands that create or move things.

Place it *below* the authentication decorator, so that the scope (the principal or the
terminal) is known when it runs::

    @bp.post("/family")
    @requires(Role.CITIZEN)
    @idempotent
    @body(AddMember)
    async def add_member(request, body): ...

Semantics in ``backend.idempotency.service``.
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Callable
from typing import Any, overload

from sanic import Request
from sanic.response import HTTPResponse, json

from backend.container import Container
from backend.errors import InvalidInput
from backend.idempotency import service
from handlers.contract import Header, contract_of
from handlers.request import Handler, container, wraps_documented

log = logging.getLogger("yibao.idempotency")


def scope_of(request: Request) -> str:
    principal = getattr(request.ctx, "principal", None)
    if principal is not None:
        return f"account:{principal.account_id}"
    terminal = getattr(request.ctx, "terminal", None)
    if terminal is not None:
        return terminal.scope
    raise RuntimeError("@idempotent needs an authenticated request: put it below @requires")


def _replay(stored: service.Replay) -> HTTPResponse:
    if stored.is_json:
        response: HTTPResponse = json(stored.body, status=stored.status_code)
    else:
        response = HTTPResponse(
            stored.body or "", status=stored.status_code, content_type=stored.content_type
        )
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers[service.REPLAYED_HEADER] = "true"
    return response


def _stored_body(response: HTTPResponse) -> tuple[str, Any]:
    content_type = response.content_type or "application/json"
    raw = response.body or b""
    if "json" in content_type:
        try:
            return content_type, jsonlib.loads(raw) if raw else None
        except ValueError:
            pass
    return content_type, raw.decode("utf-8", errors="replace")


async def _let_go(c: Container, claim: service.Claim) -> None:
    try:
        await service.abandon(c, claim)
    except Exception:  # keep the original failure; the record goes stale and is taken over
        log.exception("could not release idempotency record %s", claim.record_id)


async def _keep_answer(
    c: Container, claim: service.Claim, response: HTTPResponse, status: int
) -> None:
    """Store the successful answer that retries with the same key get back."""
    content_type, stored = _stored_body(response)
    headers = {
        name: response.headers[name]
        for name in service.REPLAYED_RESPONSE_HEADERS
        if name in response.headers
    }
    try:
        await service.complete(
            c, claim, status_code=status, content_type=content_type, body=stored, headers=headers
        )
    except Exception:
        # The command succeeded: answer it. The record stays "in progress" until it goes
        # stale, so a retry meanwhile gets 409 rather than a second effect.
        log.exception("could not store the idempotent answer for record %s", claim.record_id)


KEY_HEADER = Header(
    service.HEADER,
    "幂等键：重试时带上相同的值，得到第一次的结果（1–128 个可打印 ASCII 字符）",
    schema={"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x20-\\x7e]+$"},
)


def _wrap(handler: Handler, stale_after_s: float, retention_s: float, required: bool) -> Handler:
    @wraps_documented(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(service.HEADER)
        if key is None:
            if required:
                raise InvalidInput(
                    "此操作须提供 Idempotency-Key 请求头", code="IDEMPOTENCY_KEY_REQUIRED"
                )
            return await handler(request, *args, **kwargs)
        c = container(request)
        req_hash = service.request_hash(
            request.method, request.raw_url.decode("latin-1"), request.body or b""
        )
        outcome = await service.begin(
            c,
            scope_of(request),
            key,
            req_hash,
            stale_after_s=stale_after_s,
            retention_s=retention_s,
        )
        if isinstance(outcome, service.Replay):
            return _replay(outcome)
        try:
            response = await handler(request, *args, **kwargs)
        except BaseException:
            await _let_go(c, outcome)
            raise
        status = getattr(response, "status", 500)
        if not 200 <= status < 300:
            await _let_go(c, outcome)
            return response
        await _keep_answer(c, outcome, response, status)
        return response

    contract = contract_of(wrapper)
    contract.headers.append(
        Header(KEY_HEADER.name, KEY_HEADER.description, required, KEY_HEADER.schema)
    )
    if required:
        contract.error(422, "IDEMPOTENCY_KEY_REQUIRED")
    return wrapper


@overload
def idempotent(handler: Handler) -> Handler: ...
@overload
def idempotent(
    *, stale_after_s: float = ..., retention_s: float = ..., required: bool = ...
) -> Callable[[Handler], Handler]: ...


def idempotent(
    handler: Handler | None = None,
    *,
    stale_after_s: float = service.DEFAULT_STALE_AFTER_S,
    retention_s: float = service.DEFAULT_RETENTION_S,
    required: bool = False,
) -> Handler | Callable[[Handler], Handler]:
    """Use as ``@idempotent``, or ``@idempotent(stale_after_s=600)`` for long commands, or
    ``@idempotent(required=True)`` where a request without a key is refused (422)."""
    if handler is not None:
        return _wrap(handler, stale_after_s, retention_s, False)
    return lambda h: _wrap(h, stale_after_s, retention_s, required)
