"""Login flows, lockout, rate limits, token rotation and revocation, and bad tokens."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher

from backend.audit.models import AuditEntry
from backend.errors import Locked, TooManyRequests, Unauthorized
from backend.identity import passwords, service
from backend.identity.models import Account, RefreshToken, Role
from tests.factories import (
    STAFF_PASSWORD,
    bearer,
    bind_citizen,
    login_citizen,
    login_staff,
    make_staff,
    make_staff_with_password,
)

LOGIN = "/api/v1/auth/staff/login"


@pytest.fixture(autouse=True)
def cheap_argon2():
    """These tests run argon2 hundreds of times: cheaper parameters keep them quick. The
    production parameters are covered in tests/unit/test_passwords.py."""
    previous = passwords.set_parameters(
        PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    yield
    passwords.set_parameters(previous)


def assert_error(resp, status: int, code: str | None = None) -> dict:
    """A failure in the one error format, with a Chinese message for the user."""
    assert resp.status == status, resp.json
    error = resp.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"] and not error["message"].isascii()
    if code is not None:
        assert error["code"] == code
    assert resp.headers.get("x-request-id")
    return error


async def get_me(client, token: str):
    _, resp = await client.get("/api/v1/me", headers=bearer(token))
    return resp


async def staff_attempt(client, username: str = "staff01", password: str = "wrong-Password1"):
    _, resp = await client.post(LOGIN, json={"username": username, "password": password})
    return resp


# ---------------------------------------------------------------------------- citizens


async def test_citizen_login_with_the_simulator(client, c):
    _, code_resp = await client.post("/api/v1/dev/login-code", json={"user": "wang"})
    assert code_resp.status == 200
    code = code_resp.json["code"]

    _, resp = await client.post("/api/v1/auth/citizen/login", json={"code": code})
    assert resp.status == 200
    body = resp.json
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["role"] == "citizen" and body["bound"] is False

    me = await get_me(client, body["access_token"])
    assert me.status == 200
    assert me.json["role"] == "citizen"
    assert me.json["bound"] is False and me.json["person"] is None

    # The same WeChat user logging in again reaches the same account.
    again = await login_citizen(client, c, "wang")
    assert (await get_me(client, again["access_token"])).json["id"] == me.json["id"]
    assert await Account.filter(role="citizen").count() == 1
    assert await AuditEntry.filter(action="auth.citizen_login").count() == 2


async def test_login_code_is_single_use(client, c):
    code = c.identity_provider.issue_code("li")
    _, first = await client.post("/api/v1/auth/citizen/login", json={"code": code})
    assert first.status == 200
    _, second = await client.post("/api/v1/auth/citizen/login", json={"code": code})
    assert_error(second, 401, "LOGIN_CODE_INVALID")


async def test_made_up_login_code_is_refused(client, c):
    _, resp = await client.post("/api/v1/auth/citizen/login", json={"code": "not-a-real-code"})
    assert_error(resp, 401, "LOGIN_CODE_INVALID")
    assert await Account.all().count() == 0


async def test_dev_login_code_validates_its_body(client, c):
    _, resp = await client.post("/api/v1/dev/login-code", json={"user": 5})
    assert_error(resp, 422, "VALIDATION_FAILED")


async def test_dev_login_code_is_hidden_with_the_real_wechat_provider(client, c, monkeypatch):
    class WeChatLike:
        async def code_to_session(self, code):  # pragma: no cover - never called
            raise AssertionError

    monkeypatch.setattr(c, "identity_provider", WeChatLike())
    _, resp = await client.post("/api/v1/dev/login-code", json={"user": "wang"})
    assert_error(resp, 404, "NOT_FOUND")


# ---------------------------------------------------------------------------- staff


async def test_staff_login_and_profile(client, c):
    await make_staff_with_password(c, "reviewer1", role="reviewer", categories=["claims"])
    tokens = await login_staff(client, "reviewer1")
    assert tokens["role"] == "reviewer"
    me = await get_me(client, tokens["access_token"])
    assert me.status == 200
    assert me.json["role"] == "reviewer"
    assert me.json["username"] == "reviewer1"
    assert me.json["categories"] == ["claims"]
    assert "password" not in json.dumps(me.json)
    entry = await AuditEntry.get(action="auth.staff_login")
    assert entry.actor_role == "reviewer"


async def test_wrong_password_and_unknown_user_look_the_same(client, c):
    await make_staff_with_password(c, "staff01")
    wrong_password = assert_error(await staff_attempt(client, "staff01"), 401)
    unknown_user = assert_error(await staff_attempt(client, "nobody"), 401)
    assert wrong_password == unknown_user
    assert wrong_password["code"] == "INVALID_CREDENTIALS"
    assert await AuditEntry.filter(action="auth.staff_login_failed").count() == 2
    # What was typed as a username is not kept in the audit log.
    assert "nobody" not in json.dumps([e.data for e in await AuditEntry.all()])
    assert not any(e.subject_id == "nobody" for e in await AuditEntry.all())


async def test_unknown_user_spends_a_password_verification(client, c, monkeypatch):
    # Comparable time without asserting timings: the unknown-user path runs argon2 too.
    calls: list[str] = []
    real = service.verify_dummy
    monkeypatch.setattr(service, "verify_dummy", lambda pw: (calls.append(pw), real(pw)))
    assert_error(await staff_attempt(client, "nobody", "Secret#123"), 401)
    assert calls == ["Secret#123"]


async def test_old_password_hash_is_upgraded_on_login(client, c):
    old = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1).hash(STAFF_PASSWORD)
    account = await make_staff_with_password(c, "staff01")
    await Account.filter(id=account.id).update(password_hash=old)
    await login_staff(client)
    upgraded = (await Account.get(id=account.id)).password_hash
    assert upgraded != old and "m=8192" in upgraded
    await login_staff(client)  # the new hash verifies


async def test_citizen_account_cannot_use_password_login(client, c):
    await login_citizen(client, c, "zhao")
    assert_error(await staff_attempt(client, "zhao"), 401, "INVALID_CREDENTIALS")


async def test_lockout_after_repeated_failures_and_unlock_later(client, c, clock):
    await make_staff_with_password(c, "staff01")
    policy = c.policies.access.at(clock.now().date())
    for _ in range(policy.login_max_failures - 1):
        assert_error(await staff_attempt(client), 401, "INVALID_CREDENTIALS")
    locked = assert_error(await staff_attempt(client), 423, "ACCOUNT_LOCKED")
    assert "锁定" in locked["message"] and "北京时间" in locked["message"]
    assert locked["details"]["locked_until"]

    # Even the right password is refused while locked.
    right = assert_error(await staff_attempt(client, password=STAFF_PASSWORD), 423)
    assert right["details"]["locked_until"] == locked["details"]["locked_until"]
    assert await AuditEntry.filter(action="auth.account_locked").count() == 1

    clock.advance(minutes=policy.lockout_minutes - 1)
    assert_error(await staff_attempt(client, password=STAFF_PASSWORD), 423)
    clock.advance(minutes=1, seconds=1)
    tokens = await login_staff(client)
    assert (await get_me(client, tokens["access_token"])).status == 200


async def test_lockout_is_per_source_so_an_attacker_elsewhere_cannot_lock_a_reviewer_out(c):
    # The attack as reported: five wrong passwords from anywhere locked the reviewer for 15 min.
    await make_staff_with_password(c, "reviewer01")
    policy = c.policies.access.at(c.clock.now().date())
    for _ in range(policy.login_max_failures - 1):
        with pytest.raises(Unauthorized):
            await service.staff_login(c, "reviewer01", "wrong-Password1", source="203.0.113.66")
    with pytest.raises(Locked):
        await service.staff_login(c, "reviewer01", "wrong-Password1", source="203.0.113.66")
    with pytest.raises(Locked):  # the attacker's address stays locked, even with the password
        await service.staff_login(c, "reviewer01", STAFF_PASSWORD, source="203.0.113.66")
    result = await service.staff_login(c, "reviewer01", STAFF_PASSWORD, source="10.20.0.15")
    assert result.account.username == "reviewer01"


async def test_each_lockout_lasts_twice_as_long_as_the_one_before(c, clock):
    await make_staff_with_password(c, "staff01")
    policy = c.policies.access.at(clock.now().date())
    source = "203.0.113.70"

    async def lock_out() -> datetime:
        for _ in range(policy.login_max_failures - 1):
            with pytest.raises(Unauthorized):
                await service.staff_login(c, "staff01", "wrong-Password1", source=source)
        with pytest.raises(Locked) as locked:
            await service.staff_login(c, "staff01", "wrong-Password1", source=source)
        return datetime.fromisoformat(locked.value.details["locked_until"])

    first_start = clock.now()
    first = await lock_out()
    clock.set(first + timedelta(seconds=1))
    second_start = clock.now()
    second = await lock_out()
    assert first - first_start == timedelta(minutes=policy.lockout_minutes)
    assert second - second_start == timedelta(minutes=2 * policy.lockout_minutes)


async def test_a_switched_off_account_answers_like_a_wrong_password(client, c):
    # The attack as reported: 403 to the right password and 401 to a wrong one, an oracle.
    account = await make_staff_with_password(c, "staff01")
    await Account.filter(id=account.id).update(is_active=False)
    right = assert_error(await staff_attempt(client, password=STAFF_PASSWORD), 401)
    wrong = assert_error(await staff_attempt(client), 401)
    assert right == wrong
    assert right["code"] == "INVALID_CREDENTIALS"


async def test_success_resets_the_consecutive_failure_count(client, c):
    await make_staff_with_password(c, "staff01")
    policy = c.policies.access.at(c.clock.now().date())
    for _ in range(policy.login_max_failures - 1):
        await staff_attempt(client)
    await login_staff(client)
    for _ in range(policy.login_max_failures - 1):
        assert_error(await staff_attempt(client), 401)
    await login_staff(client)


async def test_unknown_username_locks_like_a_real_one(client, c):
    policy = c.policies.access.at(c.clock.now().date())
    for _ in range(policy.login_max_failures - 1):
        assert_error(await staff_attempt(client, "ghost"), 401, "INVALID_CREDENTIALS")
    assert_error(await staff_attempt(client, "ghost"), 423, "ACCOUNT_LOCKED")


async def test_login_attempts_per_username_are_rate_limited(client, c):
    await make_staff_with_password(c, "staff01")
    limit = c.policies.access.at(c.clock.now().date()).login_attempts_per_minute
    # Fixed one-minute windows: 2 × limit + 1 attempts overflow one window whatever the timing.
    answers = [await staff_attempt(client) for _ in range(2 * limit + 1)]
    limited = [a for a in answers if a.status == 429]
    assert limited
    assert_error(limited[0], 429, "RATE_LIMITED")
    assert {a.status for a in answers} <= {401, 423, 429}


async def test_failed_logins_from_one_source_block_that_source_only(c):
    await make_staff_with_password(c, "staff01")
    limit = c.policies.access.at(c.clock.now().date()).login_attempts_per_minute
    blocked = False
    for i in range(2 * limit + 1):  # different usernames: only the source ties them together
        try:
            await service.staff_login(c, f"guess{i}", "x", source="203.0.113.9")
        except TooManyRequests:
            blocked = True
            break
        except Unauthorized:
            pass
    assert blocked
    with pytest.raises(TooManyRequests):
        await service.staff_login(c, "staff01", STAFF_PASSWORD, source="203.0.113.9")
    result = await service.staff_login(c, "staff01", STAFF_PASSWORD, source="198.51.100.7")
    assert result.account.username == "staff01"


async def test_successful_logins_from_one_source_are_not_limited(c):
    limit = c.policies.access.at(c.clock.now().date()).login_attempts_per_minute
    # An office or a mobile carrier's shared address: many people log in from it.
    for i in range(limit + 2):
        code = c.identity_provider.issue_code(f"citizen-{i}")
        await service.citizen_login(c, code, source="203.0.113.10")


# ---------------------------------------------------------------------------- tokens


async def refresh(client, token: str):
    _, resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    return resp


async def test_refresh_rotates_the_refresh_token(client, c):
    first = await login_citizen(client, c)
    resp = await refresh(client, first["refresh_token"])
    assert resp.status == 200
    second = resp.json
    assert second["refresh_token"] != first["refresh_token"]
    assert (await get_me(client, second["access_token"])).status == 200
    # The spent token no longer works.
    assert_error(await refresh(client, first["refresh_token"]), 401)


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, c):
    first = await login_citizen(client, c)
    second = (await refresh(client, first["refresh_token"])).json
    third = (await refresh(client, second["refresh_token"])).json
    assert (await get_me(client, third["access_token"])).status == 200

    # A thief replays the first refresh token.
    assert_error(await refresh(client, first["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")

    assert_error(await refresh(client, third["refresh_token"]), 401)
    assert_error(await get_me(client, third["access_token"]), 401, "TOKEN_REVOKED")
    assert await RefreshToken.filter(revoked_at=None).count() == 0
    entry = await AuditEntry.get(action="auth.refresh_token_reused")
    assert entry.subject_id == str((await Account.get()).id)


async def test_reuse_in_one_session_leaves_other_sessions_alone(client, c):
    phone = await login_citizen(client, c, "qian")
    tablet = await login_citizen(client, c, "qian")
    await refresh(client, phone["refresh_token"])
    await refresh(client, phone["refresh_token"])  # reuse: the phone's session is revoked
    assert (await get_me(client, tablet["access_token"])).status == 200
    assert (await refresh(client, tablet["refresh_token"])).status == 200


async def test_logout_revokes_the_session(client, c):
    await make_staff_with_password(c, "staff01")
    tokens = await login_staff(client)
    other = await login_staff(client)
    _, resp = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert resp.status == 204
    assert_error(await get_me(client, tokens["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(await refresh(client, tokens["refresh_token"]), 401, "REFRESH_TOKEN_INVALID")
    assert (await get_me(client, other["access_token"])).status == 200
    assert await AuditEntry.filter(action="auth.logout").count() == 1


async def test_logout_needs_a_token(client, c):
    _, resp = await client.post("/api/v1/auth/logout")
    assert_error(resp, 401, "UNAUTHORIZED")


async def test_expired_access_token_is_refused_and_refresh_still_works(client, c, clock):
    tokens = await login_citizen(client, c)
    clock.advance(seconds=c.settings.access_token_ttl_s - 1)
    assert (await get_me(client, tokens["access_token"])).status == 200
    clock.advance(seconds=2)
    assert_error(await get_me(client, tokens["access_token"]), 401, "TOKEN_INVALID")
    fresh = (await refresh(client, tokens["refresh_token"])).json
    assert (await get_me(client, fresh["access_token"])).status == 200


async def test_expired_refresh_token_is_refused(client, c, clock):
    tokens = await login_citizen(client, c)
    clock.advance(seconds=c.settings.refresh_token_ttl_s + 1)
    assert_error(await refresh(client, tokens["refresh_token"]), 401, "REFRESH_TOKEN_INVALID")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_tampered_token_is_refused(client, c):
    token = (await login_citizen(client, c))["access_token"]
    header, payload, signature = token.split(".")
    # Flip one payload character, and also a meaningful change: another account id.
    flipped = payload[:5] + ("A" if payload[5] != "A" else "B") + payload[6:]
    assert_error(await get_me(client, f"{header}.{flipped}.{signature}"), 401, "TOKEN_INVALID")
    claims = _claims(token) | {"sub": "1", "role": "admin"}
    forged = _b64(json.dumps(claims).encode())
    assert_error(await get_me(client, f"{header}.{forged}.{signature}"), 401, "TOKEN_INVALID")


async def test_alg_none_token_is_refused(client, c):
    token = (await login_citizen(client, c))["access_token"]
    claims = _claims(token) | {"role": "admin"}
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{_b64(json.dumps(claims).encode())}."
    assert_error(await get_me(client, unsigned), 401, "TOKEN_INVALID")
    library_none = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert_error(await get_me(client, library_none), 401, "TOKEN_INVALID")


async def test_token_signed_with_a_wrong_key_is_refused(client, c):
    token = (await login_citizen(client, c))["access_token"]
    forged = jwt.encode(_claims(token), b"k" * 32, algorithm="HS256")
    assert_error(await get_me(client, forged), 401, "TOKEN_INVALID")


async def test_refresh_and_access_tokens_are_not_interchangeable(client, c):
    tokens = await login_citizen(client, c)
    assert_error(await get_me(client, tokens["refresh_token"]), 401, "TOKEN_INVALID")
    assert_error(await refresh(client, tokens["access_token"]), 401, "REFRESH_TOKEN_INVALID")
    # A token of another type signed with the right key is refused too.
    other_type = jwt.encode(
        _claims(tokens["access_token"]) | {"typ": "refresh"}, c.keys.jwt_secret, algorithm="HS256"
    )
    assert_error(await get_me(client, other_type), 401, "TOKEN_INVALID")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer a.b.c",
        "Token abc",
        "Bearer \u4e2d\u6587".encode(),  # raw UTF-8 bytes in the header
    ],
)
async def test_missing_or_garbage_authorization_header(client, c, header):
    headers = {} if header is None else {"Authorization": header}
    _, resp = await client.get("/api/v1/me", headers=headers)
    assert_error(resp, 401)


async def test_deactivated_account_loses_access_at_once(client, c):
    staff = await make_staff_with_password(c, "staff01")
    tokens = await login_staff(client)
    assert (await get_me(client, tokens["access_token"])).status == 200  # profile now cached
    admin = await make_staff(c, Role.ADMIN, "admin01")
    _, response = await client.post(
        f"/api/v1/admin/accounts/{staff.id}/deactivate",
        json={"reason": "离职停用"},
        headers=admin.headers,
    )
    assert response.status == 200
    assert_error(await get_me(client, tokens["access_token"]), 401, "TOKEN_REVOKED")
    assert not (await Account.get(id=staff.id)).is_active
    assert_error(await refresh(client, tokens["refresh_token"]), 401)
    assert_error(await staff_attempt(client, password=STAFF_PASSWORD), 401, "INVALID_CREDENTIALS")


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "staff01"},
        {"username": 123, "password": STAFF_PASSWORD},
        {"username": "staff01", "password": ["x"]},
        {"username": "staff01", "password": STAFF_PASSWORD, "role": "admin"},
        {"username": "", "password": STAFF_PASSWORD},
        {"username": "staff01", "password": "x" * 1000},
        [],
        "staff01",
    ],
)
async def test_staff_login_wrong_shapes_are_422(client, c, payload):
    await make_staff_with_password(c, "staff01")
    _, resp = await client.post(LOGIN, json=payload)
    error = assert_error(resp, 422, "VALIDATION_FAILED")
    assert error["details"]["fields"]
    assert not await AuditEntry.filter(action="auth.staff_login_failed").exists()


@pytest.mark.parametrize("raw", [b"{bad json", b"", b'{"code": ', b"\xff\xfe"])
async def test_malformed_json_login(client, c, raw):
    _, resp = await client.post(
        "/api/v1/auth/citizen/login", content=raw, headers={"content-type": "application/json"}
    )
    assert_error(resp, 422, "MALFORMED_JSON")
    assert await Account.all().count() == 0


async def test_only_admins_deactivate_accounts_and_bad_input_changes_nothing(client, c):
    staff = await make_staff_with_password(c, "staff01")
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk01")
    admin = await make_staff(c, Role.ADMIN, "admin01")
    url = f"/api/v1/admin/accounts/{staff.id}/deactivate"
    _, response = await client.post(url, json={"reason": "离职停用"}, headers=clerk.headers)
    assert_error(response, 403)
    _, response = await client.post(url, json={"reason": 5}, headers=admin.headers)
    assert_error(response, 422)
    _, response = await client.post(
        "/api/v1/admin/accounts/999999/deactivate",
        json={"reason": "离职停用"},
        headers=admin.headers,
    )
    assert_error(response, 404)
    assert (await Account.get(id=staff.id)).is_active


async def test_binding_shows_at_once_in_the_cached_profile(client, c):
    tokens = await login_citizen(client, c)
    _, before = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert before.json["bound"] is False
    bound = await bind_citizen(client, tokens["access_token"], "王小明", "11010519491231002X")
    assert bound.status == 200
    _, after = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert after.json["bound"] is True
    assert after.json["person"]["id_number"] == "1101**********002X"
