"""Endpoints for pharmacy and hospital terminals, authenticated by request signatures
(protocol in ``backend.terminals.service``)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from backend.terminals.service import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PendingNonce,
    TerminalIdentity,
    authenticate_terminal,
    check_terminal_signature,
)
from handlers.contract import Header, contract_of, errors, responds
from handlers.request import Handler, container, wraps_documented
from handlers.responses.vouchers import WhoamiOut

bp = Blueprint("terminal", url_prefix="/terminal")


SIGNATURE_HEADERS = (
    Header(
        HEADER_TIMESTAMP,
        "签名时间（Unix 秒）",
        True,
        {"type": "string", "pattern": "^[0-9]{1,12}$"},
    ),
    Header(
        HEADER_NONCE, "一次性随机串", True, {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}
    ),
    Header(
        HEADER_SIGNATURE,
        "base64(HMAC-SHA256(密钥, 签名原文))",
        True,
        {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$"},
    ),
)


def _documented(wrapper: Handler) -> Handler:
    """Terminal signature: the key header is the security scheme, the other three parameters."""
    contract = contract_of(wrapper)
    contract.auth = "terminal"
    contract.headers.extend(SIGNATURE_HEADERS)
    return wrapper


def terminal_auth(handler: Handler) -> Handler:
    """Verify the terminal's signature over the raw request and set ``request.ctx.terminal``."""

    @wraps_documented(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
        request.ctx.terminal = await authenticate_terminal(
            container(request),
            method=request.method,
            # The request target exactly as sent: path plus "?query", percent-encoding kept.
            target=request.raw_url.decode("latin-1"),
            headers=request.headers,
            body=request.body or b"",
        )
        return await handler(request, *args, **kwargs)

    return _documented(wrapper)


def terminal_auth_deferring_nonce(handler: Handler) -> Handler:
    """:func:`terminal_auth`, but the nonce is left for the handler to write with what the
    request does (``request.ctx.terminal_nonce``, a :class:`PendingNonce`).
    Whatever way the handler ends without having spent it, refusals and errors included, it is
    spent here, so a signed request is still acted on at most once; a replay is refused."""

    @wraps_documented(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
        c = container(request)
        identity, nonce = await check_terminal_signature(
            c,
            method=request.method,
            target=request.raw_url.decode("latin-1"),
            headers=request.headers,
            body=request.body or b"",
        )
        request.ctx.terminal = identity
        request.ctx.terminal_nonce = nonce
        try:
            return await handler(request, *args, **kwargs)
        except Exception as exc:
            if not nonce.spent:
                try:
                    await nonce.spend(c)
                except Exception as replay:  # a replay answers as a replay, whatever else
                    raise replay from exc
            raise

    return _documented(wrapper)


def terminal_nonce(request: Request) -> PendingNonce | None:
    return getattr(request.ctx, "terminal_nonce", None)


def terminal(request: Request) -> TerminalIdentity:
    return request.ctx.terminal


# The body is read even on GET, so that a terminal can check its body signing here too.
@bp.get("/whoami", ignore_body=False)
@openapi.summary("终端身份确认")
@openapi.description(
    "校验终端签名，返回该终端所属的定点医药机构。签名头：X-Terminal-Key、X-Terminal-Timestamp、"
    "X-Terminal-Nonce、X-Terminal-Signature；签名原文与算法见 backend/terminals/service.py。"
)
@terminal_auth
@errors(
    401,
    "TERMINAL_AUTH_MALFORMED",
    "TERMINAL_AUTH_MISSING",
    "TERMINAL_NONCE_REPLAYED",
    "TERMINAL_SIGNATURE_INVALID",
    "TERMINAL_TIMESTAMP_STALE",
    "TERMINAL_UNKNOWN",
)
@responds(WhoamiOut)
async def whoami(request: Request) -> dict[str, Any]:
    t = terminal(request)
    return {
        "key_id": t.key_id,
        "institution": {
            "code": t.institution_code,
            "name": t.institution_name,
            "city_code": t.city_code,
        },
    }
