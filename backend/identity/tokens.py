"""Access tokens (short-lived HS256 JWTs) and rotating refresh tokens.

A login starts a session: a family of refresh tokens. Each refresh spends the presented token
and issues the next one; presenting a spent token again means it was stolen or replayed, so the
whole family is revoked. Logout revokes the family too, and an account's deactivation all of
its families.

The database is the source of truth for "has this session ended?": a revoked refresh token in
the family, or the account switched off. Each process keeps the answer in its shared cache
(invalidated in every process on revocation, and served from memory only while the
invalidation feed is up), so access tokens of an ended session stop at once and stay stopped
after Redis loses everything: Redis holds no revocation at all.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from tortoise.transactions import in_transaction

from backend.container import Container
from backend.errors import Unauthorized
from backend.identity.models import Account, RefreshToken, Role
from backend.identity.principal import Principal

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session: str = ""  # the token family, for audit entries; never sent to the client
    account_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


class RefreshTokenReused(Unauthorized):
    """A spent refresh token was presented again: its whole family has been revoked."""

    code = "REFRESH_TOKEN_REUSED"
    message = "检测到登录凭证被重复使用，已退出所有相关登录"

    def __init__(self, account_id: int, session: str) -> None:
        super().__init__()
        # Attributes, not details: details are sent to the client, these go to the audit log.
        self.account_id = account_id
        self.session = session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _revoked_key(session: str) -> str:
    return f"revoked-session:{session}"


def _access_token(c: Container, account: Account, session: str) -> str:
    now = c.clock.now()
    claims = {
        "sub": str(account.id),
        "role": account.role.value,
        "sid": session,
        "st": account.station_id,
        "cat": list(account.categories or []),
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + c.settings.access_token_ttl_s,
        "typ": "access",
    }
    return jwt.encode(claims, c.keys.jwt_secret, algorithm=ALGORITHM)


async def _new_refresh(c: Container, account: Account, session: str) -> str:
    token = secrets.token_urlsafe(32)
    now = c.clock.now()
    await RefreshToken.create(
        token_hash=_hash(token),
        family=session,
        account=account,
        issued_at=now,
        expires_at=now + timedelta(seconds=c.settings.refresh_token_ttl_s),
    )
    return token


async def start_session(c: Container, account: Account) -> TokenPair:
    session = secrets.token_hex(16)
    refresh = await _new_refresh(c, account, session)
    return TokenPair(
        _access_token(c, account, session),
        refresh,
        c.settings.access_token_ttl_s,
        session=session,
        account_id=account.id,
    )


async def revoke_session(c: Container, session: str) -> None:
    """End one login session (logout, a reused refresh token, a new binding): written to the
    database first, then every process's cached answer is dropped."""
    now = c.clock.now()
    await RefreshToken.filter(family=session, revoked_at=None).update(revoked_at=now)
    await c.cache.invalidate(_revoked_key(session))


async def revoke_all_sessions(c: Container, account_id: int) -> None:
    """Every open session of an account (deactivation, a password reset, a reclaimed ID)."""
    families = await RefreshToken.filter(account_id=account_id, revoked_at=None).distinct()
    for session in {row.family for row in families}:
        await revoke_session(c, session)


async def session_ended(session: str, account_id: int) -> bool:
    """The database's answer: the session was revoked, or its account deactivated."""
    if await RefreshToken.filter(family=session, revoked_at__isnull=False).exists():
        return True
    return not await Account.filter(id=account_id, is_active=True).exists()


async def _is_revoked(c: Container, principal: Principal) -> bool:
    # Every request asks this: served from the process's memory, which every revocation
    # clears in all processes (backend.infra.shared_cache), with the database behind it.
    return await c.cache.get_or_load(
        _revoked_key(principal.session),
        lambda: session_ended(principal.session, principal.account_id),
    )


async def session_revoked(c: Container, principal: Principal) -> bool:
    """Whether a login session (a token family) has ended: logout, reuse of a spent refresh
    token, deactivation. The staff console's cookie sessions ask this on every page."""
    return await _is_revoked(c, principal)


async def refresh_session(c: Container, token: str) -> TokenPair:
    now = c.clock.now()
    invalid = Unauthorized("登录已失效，请重新登录", code="REFRESH_TOKEN_INVALID")
    row = await RefreshToken.get_or_none(token_hash=_hash(token)).prefetch_related("account")
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise invalid
    if not row.account.is_active:
        raise invalid
    # A session is revoked when any of its tokens is: a refresh racing a logout may insert
    # its successor after the logout's UPDATE ran, and that successor must not outlive it.
    if await RefreshToken.filter(family=row.family, revoked_at__isnull=False).exists():
        raise invalid
    async with in_transaction():
        # Spend the token with a compare-and-set: of two concurrent refreshes one wins.
        spent = await RefreshToken.filter(token_hash=row.token_hash, used_at=None).update(
            used_at=now
        )
        if spent:
            refresh = await _new_refresh(c, row.account, row.family)
    if not spent:
        await revoke_session(c, row.family)
        raise RefreshTokenReused(row.account.id, row.family)
    return TokenPair(
        _access_token(c, row.account, row.family),
        refresh,
        c.settings.access_token_ttl_s,
        session=row.family,
        account_id=row.account.id,
    )


def _decode(c: Container, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            c.keys.jwt_secret,
            algorithms=[ALGORITHM],
            # Expiry is checked against the injected clock by the caller, not the library's.
            options={
                "require": ["exp", "iat", "sub", "sid", "role"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
        if claims.get("typ") != "access":
            raise jwt.InvalidTokenError("not an access token")
        principal = Principal(
            account_id=int(claims["sub"]),
            role=Role(claims["role"]),
            session=str(claims["sid"]),
            station_id=claims.get("st"),
            categories=tuple(claims.get("cat") or ()),
        )
        return principal, float(claims["exp"])
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError) as exc:
        raise Unauthorized("登录已失效，请重新登录", code="TOKEN_INVALID") from exc


async def verify_access_token(c: Container, token: str) -> Principal:
    known = c.verified_tokens.get(token)
    if known is None:
        known = _decode(c, token)
        c.verified_tokens.put(token, *known)
    principal, expires_at = known
    if expires_at <= c.clock.now().timestamp():
        raise Unauthorized("登录已失效，请重新登录", code="TOKEN_INVALID")
    if await _is_revoked(c, principal):
        raise Unauthorized("登录已退出，请重新登录", code="TOKEN_REVOKED")
    return principal
