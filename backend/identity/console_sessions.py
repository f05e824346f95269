"""Staff console sessions: a cookie that names a server-side record, bound to the same login
session (token family) as the API tokens, so logout, reuse detection and deactivation end a
console session exactly as they end API access.

The record lives in the key-value store under a digest of the cookie value (the value itself is
never stored). It holds the account, the token family, the CSRF token and the time of the last
request; a request after ``console_idle_timeout_s`` without one (injected clock) ends it, and so
does ``console_max_session_s`` after login. Losing the store logs staff out; it never lets
anyone in, since every request also checks the account row and the family's revocation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from backend.container import Container
from backend.identity import service, tokens
from backend.identity.models import Account, Role
from backend.identity.principal import Principal


@dataclass(frozen=True)
class ConsoleSession:
    principal: Principal
    display_name: str
    csrf_token: str
    started_at: datetime

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token, presented or "")


def _key(cookie_value: str) -> str:
    return "console-session:" + hashlib.sha256(cookie_value.encode()).hexdigest()


def _ttl(c: Container) -> int:
    return c.settings.console_idle_timeout_s + 60


async def open_session(
    c: Container, username: str, password: str, source: str = ""
) -> tuple[str, ConsoleSession]:
    """Staff login (the same checks, lockout and audit as the API's); returns the cookie
    value and the session."""
    result = await service.staff_login(c, username, password, source)
    account = result.account
    value = secrets.token_urlsafe(32)
    now = c.clock.now()
    record = {
        "account_id": account.id,
        "family": result.tokens.session,
        "csrf": secrets.token_urlsafe(24),
        "started_at": now.isoformat(),
        "last_seen": now.isoformat(),
    }
    await c.kv.set(_key(value), json.dumps(record), _ttl(c))
    session = await _session_of(c, record)
    assert session is not None
    return value, session


async def _session_of(c: Container, record: dict[str, str]) -> ConsoleSession | None:
    account = await Account.get_or_none(id=record["account_id"], is_active=True)
    if account is None or account.role is Role.CITIZEN:
        return None
    principal = Principal(
        account_id=account.id,
        role=account.role,
        session=record["family"],
        station_id=account.station_id,
        categories=tuple(account.categories or ()),
    )
    return ConsoleSession(
        principal,
        account.display_name or account.username or "",
        record["csrf"],
        datetime.fromisoformat(record["started_at"]),
    )


async def resume(c: Container, cookie_value: str) -> ConsoleSession | None:
    """The session behind a cookie, or None when it is unknown, idle too long, past its
    maximum age, revoked, or its account is deactivated. Touches the idle clock."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    key = _key(cookie_value)
    raw = await c.kv.get(key)
    if raw is None:
        return None
    record = json.loads(raw)
    now = c.clock.now()
    idle = (now - datetime.fromisoformat(record["last_seen"])).total_seconds()
    age = (now - datetime.fromisoformat(record["started_at"])).total_seconds()
    if idle > c.settings.console_idle_timeout_s or age > c.settings.console_max_session_s:
        await tokens.revoke_session(c, record["family"])
        await c.kv.delete(key)
        return None
    session = await _session_of(c, record)
    if session is None or await tokens.session_revoked(c, session.principal):
        await c.kv.delete(key)
        return None
    record["last_seen"] = now.isoformat()
    await c.kv.set(key, json.dumps(record), _ttl(c))
    return session


async def end(c: Container, cookie_value: str, session: ConsoleSession) -> None:
    """Logout: the token family is revoked (API tokens of this login stop too, audited as a
    logout) and the record removed."""
    await service.logout(c, session.principal)
    await c.kv.delete(_key(cookie_value))
