"""Identity and access: citizen and staff login, sessions, account deactivation (the profile
is ``backend.identity.profile``, real-name binding ``backend.identity.binding``).

Rate limits (numbers in ``config/policy/access.yaml``):
- staff login, per username and source: every attempt counts (no one logs in ten times a
  minute; counted per source, so a flood elsewhere cannot keep the user out);
- login, per source address: only *failed* attempts count, and too many block the address for
  the window. Counting successes too would lock out a whole office, or every citizen behind a
  mobile carrier's shared address, at the morning rush;
- citizen login, per WeChat user: every successful code exchange counts;
- real-name binding, per account: every attempt counts, valid or not, which also caps how fast
  an account can probe which ID numbers are bound.

Staff lockout, counted per username AND source address: ``login_max_failures`` consecutive
failures of one username from one address lock that pair, for ``lockout_minutes`` the first time
and twice as long each time after (up to ``lockout_max_minutes``), read from the injected clock.
Someone elsewhere cannot lock a reviewer out; a success from the address resets its count.
An unknown username and a switched-off account answer exactly like a wrong password (401
``INVALID_CREDENTIALS``), so neither the answer, the lockout nor the response time tells whether a
username exists, is switched off, or what its password is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import CHINA_TZ, local_today
from backend.container import Container
from backend.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Locked,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from backend.identity import tokens
from backend.identity.models import Account, Role
from backend.identity.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from backend.identity.principal import Principal
from backend.identity.profile import profile_changed
from config.policy import AccessPolicy

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_LOGIN_WINDOW_S = 60
BINDING_WINDOW_S = 3600
_LOCK_STATE_TTL_S = 7 * 24 * 3600  # a backstop; lock times come from the injected clock


@dataclass(frozen=True)
class LoginResult:
    tokens: tokens.TokenPair
    account: Account

    def as_json(self) -> dict[str, object]:
        return {
            **self.tokens.as_json(),
            "role": self.account.role.value,
            "bound": self.account.person_id is not None,  # type: ignore[attr-defined]
        }


def policy_of(c: Container) -> AccessPolicy:
    return c.policies.access.at(local_today(c.clock))


def _opaque(c: Container, kind: str, value: str) -> str:
    """A keyed digest for store keys and audit data: correlates attempts without keeping what
    was typed (people type passwords into the username field)."""
    return c.pii.blind_index(value, kind)[:32]


def _local_time(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------- rate limits


async def limit(c: Container, key: str, window_s: int, limit: int) -> None:
    if await c.kv.hit(key, window_s, c.clock.now().timestamp()) > limit:
        raise TooManyRequests(retry_after_s=window_s)


def _source_block_key(c: Container, source: str) -> str:
    return f"login-blocked:{_opaque(c, 'source', source)}"


async def _check_source(c: Container, source: str) -> None:
    if source and await c.kv.get(_source_block_key(c, source)):
        raise TooManyRequests("登录失败次数过多，请稍后再试", retry_after_s=_LOGIN_WINDOW_S)


async def _source_failed(c: Container, source: str, policy: AccessPolicy) -> None:
    if not source:
        return
    key = f"login-failures:{_opaque(c, 'source', source)}"
    failures = await c.kv.hit(key, _LOGIN_WINDOW_S, c.clock.now().timestamp())
    if failures >= policy.login_attempts_per_minute:
        await c.kv.set(_source_block_key(c, source), "1", _LOGIN_WINDOW_S)


# ---------------------------------------------------------------------------- citizens


async def citizen_login(c: Container, code: str, source: str = "") -> LoginResult:
    """Exchange a mini-program login code for the citizen's openid; the account is created on
    the first login."""
    policy = policy_of(c)
    await _check_source(c, source)
    try:
        session = await c.identity_provider.code_to_session(code)
    except Unauthorized:
        await _source_failed(c, source, policy)
        raise
    await limit(
        c,
        f"rl:login-openid:{_opaque(c, 'openid', session.openid)}",
        _LOGIN_WINDOW_S,
        policy.login_attempts_per_minute,
    )
    account = await Account.get_or_none(openid=session.openid)
    created = False
    if account is None:
        try:
            account = await Account.create(role=Role.CITIZEN, openid=session.openid)
            created = True
        except IntegrityError:  # the same user's first two logins raced
            account = await Account.get(openid=session.openid)
    if not account.is_active:
        raise Forbidden("该账户已停用，请联系医保经办机构", code="ACCOUNT_DISABLED")
    pair = await tokens.start_session(c, account)
    await record(
        c,
        actor=_as_principal(account, pair.session),
        action="auth.citizen_login",
        subject_type="account",
        subject_id=account.id,
        data={"new_account": created, "source": source},
    )
    return LoginResult(pair, account)


# ---------------------------------------------------------------------------- staff


def _locked(until: datetime) -> Locked:
    return Locked(
        f"密码连续输错次数过多，账户已临时锁定，请于 {_local_time(until)}（北京时间）后再试",
        locked_until=until.isoformat(),
    )


def _bad_credentials() -> Unauthorized:
    return Unauthorized("用户名或密码错误", code="INVALID_CREDENTIALS")


def _as_principal(account: Account, session: str = "") -> Principal:
    return Principal(
        account_id=account.id,
        role=account.role,
        session=session,
        station_id=account.station_id,
        categories=tuple(account.categories or ()),
    )


def _attempt_key(c: Container, username: str, source: str) -> str:
    """Failures are counted per typed username AND source address: a stranger elsewhere cannot
    lock a reviewer out, and an unknown username behaves exactly like a real one."""
    return f"login-failures:{_opaque(c, 'username', username)}:{_opaque(c, 'source', source)}"


async def _lock_state(c: Container, key: str) -> dict[str, Any]:
    raw = await c.kv.get(key)
    return json.loads(raw) if raw else {"failures": 0, "lockouts": 0, "until": None}


def _lock_until(state: dict[str, Any], now: datetime) -> datetime | None:
    until = datetime.fromisoformat(state["until"]) if state["until"] else None
    return until if until is not None and until > now else None


async def _failed_attempt(
    c: Container,
    key: str,
    state: dict[str, Any],
    source: str,
    policy: AccessPolicy,
    subject: tuple[str, str | int],
) -> Exception:
    """Count a consecutive failure of this username from this source; at the limit lock the
    pair, each lockout twice as long as the one before (up to the cap). Returns the error."""
    now = c.clock.now()
    state["failures"] += 1
    lock_until = None
    if state["failures"] >= policy.login_max_failures:
        minutes = min(policy.lockout_minutes * 2 ** state["lockouts"], policy.lockout_max_minutes)
        lock_until = now + timedelta(minutes=minutes)
        state = {"failures": 0, "lockouts": state["lockouts"] + 1, "until": lock_until.isoformat()}
    await c.kv.set(key, json.dumps(state), _LOCK_STATE_TTL_S)
    await _source_failed(c, source, policy)
    await _audit_refusal(
        c,
        "auth.account_locked" if lock_until else "auth.staff_login_failed",
        subject,
        {
            "source": source,
            "failures": state["failures"],
            **({"locked_until": lock_until.isoformat()} if lock_until else {}),
        },
    )
    return _locked(lock_until) if lock_until is not None else _bad_credentials()


async def _audit_refusal(
    c: Container, action: str, subject: tuple[str, str | int], data: dict[str, Any]
) -> None:
    """Audit a failed or refused login (no actor: nobody is signed in)."""
    await record(
        c,
        actor=None,
        actor_role="anonymous",
        action=action,
        subject_type=subject[0],
        subject_id=subject[1],
        data=data,
    )


async def staff_login(c: Container, username: str, password: str, source: str = "") -> LoginResult:
    """A wrong password, an unknown username and a switched-off account all get the same
    answer; the lockout is per username and source (see the module notes)."""
    policy = policy_of(c)
    username = username.strip()
    await limit(
        c,
        f"rl:login-user:{_opaque(c, 'username', username)}:{_opaque(c, 'source', source)}",
        _LOGIN_WINDOW_S,
        policy.login_attempts_per_minute,
    )
    await _check_source(c, source)
    key = _attempt_key(c, username, source)
    state = await _lock_state(c, key)
    account = await Account.get_or_none(username=username)
    known = account is not None and account.role is not Role.CITIZEN and account.password_hash
    subject: tuple[str, str | int] = (
        ("account", account.id)
        if known and account
        else ("username", _opaque(c, "username", username))
    )
    locked_until = _lock_until(state, c.clock.now())
    if locked_until is not None:
        await _audit_refusal(c, "auth.staff_login_refused_locked", subject, {"source": source})
        raise _locked(locked_until)
    if not known or account is None:
        verify_dummy(password)  # the same time as a real verification
        raise await _failed_attempt(c, key, state, source, policy, subject)
    if not verify_password(account.password_hash or "", password):
        raise await _failed_attempt(c, key, state, source, policy, subject)
    if not account.is_active:
        # Not a password oracle: a switched-off account answers like a wrong password.
        await _audit_refusal(
            c, "auth.staff_login_refused_disabled", ("account", account.id), {"source": source}
        )
        raise _bad_credentials()
    await c.kv.delete(key)
    if needs_rehash(account.password_hash or ""):
        await Account.filter(id=account.id).update(
            password_hash=hash_password(password, check=False)
        )
    pair = await tokens.start_session(c, account)
    await record(
        c,
        actor=_as_principal(account, pair.session),
        action="auth.staff_login",
        subject_type="account",
        subject_id=account.id,
        data={"source": source},
    )
    return LoginResult(pair, account)


# ---------------------------------------------------------------------------- sessions


async def refresh(c: Container, refresh_token: str) -> tokens.TokenPair:
    try:
        return await tokens.refresh_session(c, refresh_token)
    except tokens.RefreshTokenReused as exc:
        await record(
            c,
            actor=None,
            actor_role="system",
            action="auth.refresh_token_reused",
            subject_type="account",
            subject_id=exc.account_id,
            reason="已使用的刷新凭证被再次提交，整个登录会话已撤销",
            data={"session": exc.session},
        )
        raise


async def logout(c: Container, principal: Principal) -> None:
    await tokens.revoke_session(c, principal.session)
    await record(
        c,
        actor=principal,
        action="auth.logout",
        subject_type="account",
        subject_id=principal.account_id,
    )


async def deactivate_account(
    c: Container, actor: Principal, account_id: int, reason: str
) -> dict[str, object]:
    """Admin: switch an account off. Its sessions end at once, not when their tokens expire."""
    async with in_transaction():
        updated = await Account.filter(id=account_id, is_active=True).update(is_active=False)
        if not updated:
            if not await Account.exists(id=account_id):
                raise NotFound("账户不存在")
            raise Conflict("该账户已停用", code="ACCOUNT_ALREADY_DISABLED")
        await record(
            c,
            actor=actor,
            action="identity.account_deactivated",
            subject_type="account",
            subject_id=account_id,
            reason=reason,
        )
    await tokens.revoke_all_sessions(c, account_id)
    await profile_changed(c, account_id)
    return {"id": account_id, "is_active": False}


def check_phone(phone: str) -> str:
    phone = phone.strip()
    if not _PHONE.match(phone):
        raise InvalidInput("手机号码应为 11 位中国大陆手机号", code="PHONE_INVALID")
    return phone
