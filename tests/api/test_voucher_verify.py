"""E-voucher, terminal side: online verification, every way a code is refused, offline reports,
key rotation and the JWKS, cross-city alerts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.identity.models import Role
from backend.vouchers import keys as voucher_keys
from backend.vouchers.keys import keyring_for, rotate
from backend.vouchers.keyset import create_key_file
from backend.vouchers.models import VoucherAlert, VoucherUse
from tests.factories import (
    VOUCHER_USES,
    VOUCHER_VERIFY,
    VOUCHERS,
    activate_voucher,
    enroll_for_this_year,
    make_citizen,
    make_staff,
    make_terminal,
    signed_json,
    terminal_headers,
    terminal_verify,
    voucher_code,
)

JWKS = "/.well-known/jwks.json"


def _error(response, status: int, code: str) -> None:
    assert response.status == status, response.text
    error = response.json["error"]
    assert error["code"] == code, error
    assert error["message"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segments(code: str) -> tuple[dict, dict, str]:
    def part(segment: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))

    h, p, s = code.split(".")
    return part(h), part(p), s


def _compact(header: dict, payload: dict, signature: str) -> str:
    def enc(obj: dict) -> str:
        return _b64(json.dumps(obj, separators=(",", ":")).encode())

    return f"{enc(header)}.{enc(payload)}.{signature}"


@pytest.fixture
async def holder(c, client):
    login = await make_citizen(c, "holder", name="王小丫")
    voucher = await activate_voucher(client, login)
    return login, voucher["id"]


async def _report(client, c, term, entries):
    raw, headers = signed_json(c, term, VOUCHER_USES, {"uses": entries})
    _, resp = await client.post(VOUCHER_USES, content=raw, headers=headers)
    assert resp.status == 200, resp.text
    return resp.json


# --- online verification ---------------------------------------------------------------------


async def test_verify_answers_masked_identity_insurance_and_records_the_use(c, client, holder):
    login, vid = holder
    await enroll_for_this_year(c, login.person.id)
    term = await make_terminal(c, institution_code="P33010600001", name="康民大药房")
    code = await voucher_code(client, login, vid)

    resp = await terminal_verify(client, c, term, code, purpose="02121")
    assert resp.status == 200, resp.text
    body = resp.json
    assert body["voucher_id"] == vid
    assert body["family"] is False
    assert body["person"]["name"] == "王小丫"
    assert "*" in body["person"]["id_number"]
    assert body["insurance"] == {
        "type_code": "390",
        "type_name": "城乡居民基本医疗保险",
        "year": c.clock.now().year,
        "status": "enrolled",
        "status_name": "参保缴费正常",
        "covered_today": True,
    }
    assert body["chronic_qualifications"] == []
    assert body["remote_care_filings"] == []
    assert body["use"]["purpose"] == "02121" and body["use"]["purpose_name"] == "药店购药"

    use = await VoucherUse.get(voucher_id=vid)
    assert use.terminal_key_id == term.identity.key_id
    assert use.institution_code == "P33010600001"
    assert use.city_code == "330100"
    assert use.purpose == "02121"
    assert use.used_at == c.clock.now()
    assert use.nonce == _segments(code)[1]["jti"]


async def test_not_enrolled_is_told_and_a_fresh_payment_is_seen_at_once(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    resp = await terminal_verify(client, c, term, await voucher_code(client, login, vid))
    assert resp.status == 200, resp.text
    assert resp.json["insurance"]["status"] == "not_enrolled"
    assert resp.json["insurance"]["covered_today"] is False

    await enroll_for_this_year(c, login.person.id)
    resp = await terminal_verify(client, c, term, await voucher_code(client, login, vid))
    assert resp.json["insurance"]["status"] == "enrolled"


async def test_a_code_is_used_once(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    other = await make_terminal(c, institution_code="P33010600002", name="仁和大药房")
    code = await voucher_code(client, login, vid)
    assert (await terminal_verify(client, c, term, code)).status == 200
    _error(await terminal_verify(client, c, term, code), 409, "VOUCHER_CODE_USED")
    _error(await terminal_verify(client, c, other, code), 409, "VOUCHER_CODE_USED")
    assert await VoucherUse.all().count() == 1


def _verify_request(c, term, code, *, nonce: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps({"code": code, "purpose": "02121"}).encode()
    headers = terminal_headers(c, term, "POST", VOUCHER_VERIFY, raw, nonce=nonce)
    return raw, {**headers, "Content-Type": "application/json"}


async def test_a_replayed_request_nonce_does_not_spend_the_code(c, client, holder):
    # The nonce and the code's first use are spent in one round trip, the nonce first.
    login, vid = holder
    term = await make_terminal(c)
    first, second = await voucher_code(client, login, vid), await voucher_code(client, login, vid)
    raw, headers = _verify_request(c, term, first, nonce="nonce-shared-000001")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert resp.status == 200, resp.text
    raw, headers = _verify_request(c, term, second, nonce="nonce-shared-000001")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 401, "TERMINAL_NONCE_REPLAYED")
    assert (await terminal_verify(client, c, term, second)).status == 200  # not burnt
    assert await VoucherUse.all().count() == 2


async def test_a_refused_code_still_spends_the_request_nonce(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    raw, headers = _verify_request(c, term, "not-a-code", nonce="nonce-refused-00001")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 422, "VOUCHER_CODE_MALFORMED")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 401, "TERMINAL_NONCE_REPLAYED")
    # A used code spends the nonce too: the replay is told it is a replay.
    code = await voucher_code(client, login, vid)
    assert (await terminal_verify(client, c, term, code)).status == 200
    raw, headers = _verify_request(c, term, code, nonce="nonce-used-0000001")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 409, "VOUCHER_CODE_USED")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 401, "TERMINAL_NONCE_REPLAYED")


async def test_a_refused_terminal_signature_does_not_spend_the_code(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    code = await voucher_code(client, login, vid)
    raw, headers = _verify_request(c, term, code, nonce="nonce-forged-000001")
    headers["X-Terminal-Signature"] = base64.b64encode(b"\0" * 32).decode()
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(resp, 401, "TERMINAL_SIGNATURE_INVALID")
    raw, headers = _verify_request(c, term, code, nonce="nonce-forged-000001")
    _, resp = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert resp.status == 200, resp.text  # neither the code nor the nonce was spent


async def test_expiry_uses_the_server_clock_with_a_small_skew_allowance(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    ttl, skew = c.settings.voucher_code_ttl_s, c.settings.voucher_clock_skew_s
    within = await voucher_code(client, login, vid)
    expired = await voucher_code(client, login, vid)

    c.clock.advance(seconds=ttl + skew - 1)
    assert (await terminal_verify(client, c, term, within)).status == 200
    c.clock.advance(seconds=2)
    _error(await terminal_verify(client, c, term, expired), 422, "VOUCHER_CODE_EXPIRED")

    # A code whose issue time lies ahead of the server clock by more than the allowance.
    future = await voucher_code(client, login, vid)
    c.clock.advance(seconds=-(skew + 5))
    _error(await terminal_verify(client, c, term, future), 422, "VOUCHER_CODE_NOT_YET_VALID")
    assert await VoucherUse.all().count() == 1


async def test_tampered_and_forged_codes_are_refused(c, client, holder):
    login, vid = holder
    other_login = await make_citizen(c, "other", name="李四海")
    other_vid = (await activate_voucher(client, other_login))["id"]
    term = await make_terminal(c)
    code = await voucher_code(client, login, vid)
    header, payload, signature = _segments(code)

    # Tampered payload: another voucher id, or a later expiry, under the original signature.
    for change in ({"v": other_vid}, {"exp": payload["exp"] + 3600}):
        forged = _compact(header, {**payload, **change}, signature)
        _error(await terminal_verify(client, c, term, forged), 422, "VOUCHER_SIGNATURE_INVALID")

    # Right key id, wrong key.
    stranger = ec.generate_private_key(ec.SECP256R1())
    wrong = jwt.encode(payload, stranger, algorithm="ES256", headers={"kid": header["kid"]})
    _error(await terminal_verify(client, c, term, wrong), 422, "VOUCHER_SIGNATURE_INVALID")

    # A key id nobody published.
    unknown = jwt.encode(payload, stranger, algorithm="ES256", headers={"kid": "zzzzzzzz"})
    _error(await terminal_verify(client, c, term, unknown), 422, "VOUCHER_KEY_UNKNOWN")

    # alg none, and HS256 keyed with the published public key (algorithm confusion).
    none = _compact({"alg": "none", "kid": header["kid"]}, payload, "")
    _error(await terminal_verify(client, c, term, none), 422, "VOUCHER_CODE_ALGORITHM_REJECTED")
    public_pem = (
        keyring_for(c.settings)
        .keys.get(header["kid"])
        .public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    unsigned = _compact({"alg": "HS256", "kid": header["kid"]}, payload, "").rstrip(".")
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    confused = f"{unsigned}.{_b64(mac)}"
    _error(await terminal_verify(client, c, term, confused), 422, "VOUCHER_CODE_ALGORITHM_REJECTED")

    assert await VoucherUse.all().count() == 0
    # The genuine code is still good: refusals burn nothing.
    assert (await terminal_verify(client, c, term, code)).status == 200


@pytest.mark.parametrize(
    "garbage",
    ["", "hello", "a.b", "a.b.c", "...", "eyJhbGciOiJFUzI1NiJ9.e30.", "%%%.%%%.%%%", "中文.码.值"],
)
async def test_garbage_is_a_clear_4xx(c, client, garbage):
    term = await make_terminal(c)
    resp = await terminal_verify(client, c, term, garbage)
    assert 400 <= resp.status < 500, resp.text
    assert resp.json["error"]["code"] in {"VOUCHER_CODE_MALFORMED", "VOUCHER_KEY_UNKNOWN"}


async def test_wrong_types_oversized_and_unknown_purpose(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    _error(await terminal_verify(client, c, term, 12345), 422, "VALIDATION_FAILED")
    _error(await terminal_verify(client, c, term, None), 422, "VALIDATION_FAILED")
    _error(await terminal_verify(client, c, term, "a" * 1025), 422, "VOUCHER_CODE_TOO_LONG")
    big = "eyJ" + "A" * 20_000
    _error(await terminal_verify(client, c, term, big), 413, "PAYLOAD_TOO_LARGE")

    code = await voucher_code(client, login, vid)
    _error(await terminal_verify(client, c, term, code, "99999"), 422, "VOUCHER_PURPOSE_UNKNOWN")
    _error(await terminal_verify(client, c, term, code, "abc"), 422, "VALIDATION_FAILED")
    raw, headers = signed_json(c, term, VOUCHER_VERIFY, {"code": code, "purpose": "02121", "x": 1})
    _, extra = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(extra, 422, "VALIDATION_FAILED")
    raw = b"{not json"
    headers = {**terminal_headers(c, term, "POST", VOUCHER_VERIFY, raw)}
    _, broken = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    _error(broken, 422, "MALFORMED_JSON")
    # None of these spent the code.
    assert (await terminal_verify(client, c, term, code)).status == 200


async def test_unsigned_requests_are_refused(c, client, holder):
    login, vid = holder
    code = await voucher_code(client, login, vid)
    _, resp = await client.post(VOUCHER_VERIFY, json={"code": code, "purpose": "02121"})
    _error(resp, 401, "TERMINAL_AUTH_MISSING")
    # A citizen's bearer token is no terminal signature either.
    _, resp = await client.post(
        VOUCHER_VERIFY, json={"code": code, "purpose": "02121"}, headers=login.headers
    )
    _error(resp, 401, "TERMINAL_AUTH_MISSING")


async def test_family_code_identifies_the_member(c, client):
    from backend.family.models import ConsentStatus, FamilyMember, Relation
    from backend.identity.persons import find_or_create_person
    from tests.factories import minor_id_number

    owner = await make_citizen(c, "owner")
    child = await find_or_create_person(c, "张小宝", minor_id_number(c))
    await FamilyMember.create(
        owner=owner.person,
        member=child,
        relation=Relation.CHILD,
        consent_status=ConsentStatus.NOT_REQUIRED,
    )
    vid = (await activate_voucher(client, owner, child.id))["id"]
    term = await make_terminal(c)
    resp = await terminal_verify(client, c, term, await voucher_code(client, owner, vid))
    assert resp.status == 200, resp.text
    assert resp.json["family"] is True
    assert resp.json["person"]["id"] == child.id
    assert resp.json["person"]["name"] == "张小宝"


# --- cross-city alerts ------------------------------------------------------------------------


async def test_uses_in_two_cities_within_the_window_alert_holder_and_supervisors(c, client, holder):
    login, vid = holder
    hangzhou = await make_terminal(c, institution_code="P33010600001", name="康民大药房")
    beijing = await make_terminal(
        c, institution_code="P11010500001", name="北京同仁堂", city="110100"
    )
    assert (
        await terminal_verify(client, c, hangzhou, await voucher_code(client, login, vid))
    ).status == 200
    c.clock.advance(minutes=5)  # same city again: nothing to report
    assert (
        await terminal_verify(client, c, hangzhou, await voucher_code(client, login, vid))
    ).status == 200
    assert await VoucherAlert.all().count() == 0

    c.clock.advance(minutes=4)
    assert (
        await terminal_verify(client, c, beijing, await voucher_code(client, login, vid))
    ).status == 200
    alert = await VoucherAlert.get(voucher_id=vid)
    assert alert.holder_id == login.person.id

    _, inbox = await client.get("/api/v1/me/inbox", headers=login.headers)
    assert inbox.status == 200, inbox.text
    message = inbox.json["items"][0]
    assert message["title"] == "医保电子凭证异地使用提醒"
    assert "北京同仁堂" in message["body"] and "康民大药房" in message["body"]
    assert message["case_id"] is None

    supervisor = await make_staff(c, Role.SUPERVISOR, "sup01")
    _, listed = await client.get("/api/v1/supervision/voucher-alerts", headers=supervisor.headers)
    assert listed.status == 200, listed.text
    assert listed.json["total"] == 1
    item = listed.json["items"][0]
    assert item["voucher_id"] == vid
    assert [u["city_code"] for u in item["uses"]] == ["330100", "110100"]
    assert "*" in item["person"]["id_number"]
    _, forbidden = await client.get("/api/v1/supervision/voucher-alerts", headers=login.headers)
    _error(forbidden, 403, "FORBIDDEN")


async def test_uses_in_two_cities_far_apart_raise_nothing(c, client, holder):
    login, vid = holder
    hangzhou = await make_terminal(c)
    beijing = await make_terminal(
        c, institution_code="P11010500001", name="北京同仁堂", city="110100"
    )
    assert (
        await terminal_verify(client, c, hangzhou, await voucher_code(client, login, vid))
    ).status == 200
    window = c.policies.voucher.at(c.clock.now().date()).cross_city_window_minutes
    c.clock.advance(minutes=window + 1)
    await login.relogin(c)
    assert (
        await terminal_verify(client, c, beijing, await voucher_code(client, login, vid))
    ).status == 200
    assert await VoucherAlert.all().count() == 0


# --- offline reports --------------------------------------------------------------------------


async def test_offline_uses_are_checked_at_their_use_time_and_recorded_once(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    other = await make_terminal(c, institution_code="P33010600002", name="仁和大药房")
    minted = c.clock.now()
    code = await voucher_code(client, login, vid)
    late = await voucher_code(client, login, vid)
    used_at = (minted + timedelta(seconds=20)).isoformat()

    c.clock.advance(hours=2)  # the pharmacy was offline; the codes have long expired
    result = await _report(
        client,
        c,
        term,
        [
            {"code": code, "used_at": used_at, "purpose": "02121"},
            {
                "code": late,
                "used_at": (minted + timedelta(minutes=10)).isoformat(),
                "purpose": "02121",
            },
            {"code": "garbage", "used_at": used_at, "purpose": "02121"},
        ],
    )
    assert result["recorded"] == 1 and result["refused"] == 2 and result["conflict"] == 0
    first, too_late, garbage = result["results"]
    assert first["status"] == "recorded" and first["duplicate"] is False
    assert first["use"]["mode"] == "offline"
    assert too_late["error"]["code"] == "VOUCHER_USE_TIME_INVALID"
    assert garbage["error"]["code"] == "VOUCHER_CODE_MALFORMED"
    use = await VoucherUse.get(voucher_id=vid)
    assert use.used_at == minted + timedelta(seconds=20)
    assert use.recorded_at == c.clock.now()

    # The same terminal retrying its report: recorded, not twice.
    retry = await _report(client, c, term, [{"code": code, "used_at": used_at, "purpose": "02121"}])
    assert retry["results"][0]["status"] == "recorded" and retry["results"][0]["duplicate"]
    # Another terminal claiming the same code: a conflict for that entry.
    clash = await _report(
        client, c, other, [{"code": code, "used_at": used_at, "purpose": "02121"}]
    )
    assert clash["results"][0]["status"] == "conflict"
    assert clash["results"][0]["error"]["code"] == "VOUCHER_CODE_USED"
    assert await VoucherUse.all().count() == 1

    await login.relogin(c)
    _, history = await client.get(f"{VOUCHERS}/{vid}/uses", headers=login.headers)
    assert [i["mode"] for i in history.json["items"]] == ["offline"]


async def test_offline_and_online_share_the_one_use(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    online_first = await voucher_code(client, login, vid)
    assert (await terminal_verify(client, c, term, online_first)).status == 200
    now = c.clock.now().isoformat()
    result = await _report(
        client, c, term, [{"code": online_first, "used_at": now, "purpose": "02121"}]
    )
    assert result["results"][0]["status"] == "conflict"

    offline_first = await voucher_code(client, login, vid)
    result = await _report(
        client, c, term, [{"code": offline_first, "used_at": now, "purpose": "02121"}]
    )
    assert result["results"][0]["status"] == "recorded"
    _error(await terminal_verify(client, c, term, offline_first), 409, "VOUCHER_CODE_USED")


async def test_offline_reports_in_the_future_or_too_late_are_refused(c, client, holder):
    login, vid = holder
    term = await make_terminal(c)
    code = await voucher_code(client, login, vid)
    future = (c.clock.now() + timedelta(minutes=5)).isoformat()
    result = await _report(client, c, term, [{"code": code, "used_at": future, "purpose": "02121"}])
    assert result["results"][0]["error"]["code"] == "VOUCHER_USE_TIME_INVALID"

    used_at = c.clock.now().isoformat()
    hours = c.policies.voucher.at(c.clock.now().date()).offline_report_max_hours
    c.clock.advance(hours=hours, minutes=1)
    result = await _report(
        client, c, term, [{"code": code, "used_at": used_at, "purpose": "02121"}]
    )
    assert result["results"][0]["error"]["code"] == "VOUCHER_REPORT_TOO_LATE"
    assert await VoucherUse.all().count() == 0


async def test_offline_batch_shape(c, client, holder):
    term = await make_terminal(c)
    for payload in ({"uses": []}, {"uses": [{"code": "x", "purpose": "02121"}]}, {}):
        raw, headers = signed_json(c, term, VOUCHER_USES, payload)
        _, resp = await client.post(VOUCHER_USES, content=raw, headers=headers)
        _error(resp, 422, "VALIDATION_FAILED")
    naive = {"code": "x", "used_at": "2026-01-01T08:00:00", "purpose": "02121"}
    raw, headers = signed_json(c, term, VOUCHER_USES, {"uses": [naive]})
    _, resp = await client.post(VOUCHER_USES, content=raw, headers=headers)
    _error(resp, 422, "VALIDATION_FAILED")  # a use time without a time zone is ambiguous
    limit = c.policies.voucher.at(c.clock.now().date()).offline_batch_max
    entry = {"code": "x", "used_at": c.clock.now().isoformat(), "purpose": "02121"}
    raw, headers = signed_json(c, term, VOUCHER_USES, {"uses": [entry] * (limit + 1)})
    _, resp = await client.post(VOUCHER_USES, content=raw, headers=headers)
    _error(resp, 422, "VOUCHER_BATCH_TOO_LARGE")


# --- keys: JWKS and rotation ------------------------------------------------------------------


async def test_jwks_publishes_the_es256_public_keys_only(c, client, holder):
    login, vid = holder
    _, resp = await client.get(JWKS)
    assert resp.status == 200, resp.text
    keys = resp.json["keys"]
    assert len(keys) >= 1
    for key in keys:
        assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
        assert key["use"] == "sig" and key["kid"]
        assert "d" not in key  # never the private part
    code = await voucher_code(client, login, vid)
    header, _, _ = _segments(code)
    published = {k["kid"]: k for k in keys}
    assert header["kid"] in published
    # A terminal can verify offline with nothing but the JWKS.
    public = jwt.PyJWK(published[header["kid"]]).key
    claims = jwt.decode(code, public, algorithms=["ES256"], options={"verify_exp": False})
    assert claims["v"] == vid


@pytest.fixture
def own_key_file(c, tmp_path, monkeypatch):
    """A key file of this test's own, so rotating it leaves other tests' keys alone."""
    path = tmp_path / "voucher-keys.json"
    create_key_file(path, development=True)
    monkeypatch.setattr(c.settings, "voucher_keys_file", path)
    yield path
    voucher_keys.forget_keyrings(path)


async def test_key_rotation(c, client, holder, own_key_file):
    login, vid = holder
    term = await make_terminal(c)
    ttl, skew = c.settings.voucher_code_ttl_s, c.settings.voucher_clock_skew_s
    old_code = await voucher_code(client, login, vid)
    old_unused = await voucher_code(client, login, vid)
    old_kid = _segments(old_code)[0]["kid"]
    old_key = keyring_for(c.settings).keys.get(old_kid)

    new_kid = rotate(c.settings, c.clock.now())
    assert new_kid != old_kid
    _, overlap = await client.get(JWKS)
    assert {k["kid"] for k in overlap.json["keys"]} == {old_kid, new_kid}

    # The new key signs; a code of the old key still verifies until it expires.
    assert _segments(await voucher_code(client, login, vid))[0]["kid"] == new_kid
    c.clock.advance(seconds=ttl // 2)
    assert (await terminal_verify(client, c, term, old_code)).status == 200

    # The old key cannot vouch for a code issued after it retired (a leaked key, say).
    now = int(c.clock.now().timestamp())
    minted_late = jwt.encode(
        {"v": vid, "iat": now, "exp": now + ttl, "jti": "LateMint123"},
        old_key.private_key,
        algorithm="ES256",
        headers={"kid": old_kid, "typ": None},
    )
    _error(await terminal_verify(client, c, term, minted_late), 422, "VOUCHER_KEY_RETIRED")

    # Once every code it signed has expired, the old key is gone from the JWKS and refused.
    c.clock.advance(seconds=ttl + skew)
    _, after = await client.get(JWKS)
    assert {k["kid"] for k in after.json["keys"]} == {new_kid}
    _error(await terminal_verify(client, c, term, old_unused), 422, "VOUCHER_KEY_UNKNOWN")
    fresh = await voucher_code(client, login, vid)
    assert (await terminal_verify(client, c, term, fresh)).status == 200

    # Offline reports of uses made while the old key was live are still accepted.
    used_at = (c.clock.now() - timedelta(seconds=ttl + skew + 5)).isoformat()
    result = await _report(
        client, c, term, [{"code": old_unused, "used_at": used_at, "purpose": "02121"}]
    )
    assert result["results"][0]["status"] == "recorded", result


async def test_a_new_key_is_published_before_it_signs(c, client, holder, own_key_file):
    login, vid = holder
    old_kid = _segments(await voucher_code(client, login, vid))[0]["kid"]
    new_kid = rotate(c.settings, c.clock.now(), activate_in_s=3600)
    _, early = await client.get(JWKS)
    assert {k["kid"] for k in early.json["keys"]} == {old_kid, new_kid}
    assert _segments(await voucher_code(client, login, vid))[0]["kid"] == old_kid
    c.clock.advance(seconds=3600)
    await login.relogin(c)
    assert _segments(await voucher_code(client, login, vid))[0]["kid"] == new_kid
