"""Real-name binding: only on a proof of identity (face verification redeemed server-side, or
a clerk's check of the ID card), GB 11643 validation, one ID number per account and one account
per ID number, encrypted storage, masking in every response, and the audit trail. Reclaiming an
identity bound by someone else is in tests/api/test_reclaim.py."""

from __future__ import annotations

import time

import pytest
from tortoise.connection import get_connection

from backend.audit.models import AuditEntry
from backend.audit.sealer import seal_all
from backend.audit.service import verify_chain
from backend.identity.models import Account, Person, ProofMethod, RealNameProof, Role
from backend.identity.persons import find_or_create_person
from tests.api.test_auth import assert_error, get_me
from tests.factories import (
    Login,
    bearer,
    bind_citizen,
    id_number_for,
    login_citizen,
    login_staff,
    make_staff,
    make_staff_with_password,
    make_station_tree,
)

BINDING = "/api/v1/me/binding"
START = "/api/v1/me/verification"
STATION_BINDING = "/api/v1/station/real-name-bindings"
ID = id_number_for("330106", "19900101", "123")
PHONE = "13812345678"


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


async def raw_rows(table: str) -> list[dict]:
    db = get_connection("default")
    return await db.execute_query_dict(f"SELECT * FROM {table}")


async def test_binding_shows_only_masked_numbers(client, c):
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "张三", ID, PHONE)
    assert resp.status == 200, resp.json
    assert resp.json["bound"] is True

    me = await get_me(client, tokens["access_token"])
    assert me.status == 200
    person = me.json["person"]
    assert person["id_number"] == masked(ID)
    assert person["id_number"].startswith("3301") and person["id_number"].endswith(ID[-4:])
    assert person["name"] == "张三"
    assert person["birth_date"] == "1990-01-01"
    assert person["gender"] == "M"
    assert me.json["phone"] == "138****5678"
    assert me.json["display_name"] == "张三"
    for answer in (resp, me):
        assert ID not in answer.text and ID[6:14] + ID[14:] not in answer.text
        assert PHONE not in answer.text


async def test_lowercase_x_is_stored_as_the_same_number(client, c):
    number = "11010519491231002X"
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "李四", number.lower())
    assert resp.status == 200
    assert resp.json["person"]["id_number"] == "1101**********002X"


@pytest.mark.parametrize(
    ("id_number", "words"),
    [
        (ID[:-1] + ("0" if ID[-1] != "0" else "1"), "校验位"),
        (id_number_for("330106", "19900230", "123"), "出生日期"),  # 30 February
        (id_number_for("330106", "20990101", "123"), "出生日期"),  # not born yet
        (ID[:17], "18 位"),
        ("33010619900101123A", "18 位"),
    ],
)
async def test_invalid_id_numbers_are_refused_and_change_nothing(client, c, id_number, words):
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "张三", id_number)
    error = assert_error(resp, 422, "ID_NUMBER_INVALID")
    assert words in error["message"]
    assert await Person.all().count() == 0
    assert (await get_me(client, tokens["access_token"])).json["bound"] is False
    assert await AuditEntry.filter(action="identity.real_name_bound").count() == 0


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "138-1234-5678", "+8613812345678"])
async def test_invalid_phone_is_refused_and_changes_nothing(client, c, phone):
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "张三", ID, phone)
    assert_error(resp, 422, "PHONE_INVALID")
    assert await Person.all().count() == 0
    assert (await get_me(client, tokens["access_token"])).json["bound"] is False


async def test_second_binding_of_an_account_is_refused(client, c):
    tokens = await login_citizen(client, c)
    assert (await bind_citizen(client, tokens["access_token"], "张三", ID)).status == 200
    other = id_number_for("330106", "19850505", "246")
    resp = await bind_citizen(client, tokens["access_token"], "张三", other)
    assert_error(resp, 409, "ALREADY_BOUND")
    me = await get_me(client, tokens["access_token"])
    assert me.json["person"]["id_number"] == masked(ID)
    assert await Person.all().count() == 1


async def test_a_different_name_for_a_known_id_number_is_refused(client, c):
    await find_or_create_person(c, "张三", ID)
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "王五", ID)
    assert_error(resp, 422, "NAME_MISMATCH")
    assert (await get_me(client, tokens["access_token"])).json["bound"] is False


async def test_a_known_family_member_can_bind_their_own_account(client, c):
    # Added earlier as someone's family member: the same natural person, not a new one.
    existing = await find_or_create_person(c, "张三", ID)
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "张三", ID)
    assert resp.status == 200
    assert resp.json["person"]["id"] == existing.id
    assert await Person.all().count() == 1


async def test_id_number_and_phone_are_encrypted_at_rest(client, c):
    tokens = await login_citizen(client, c)
    assert (await bind_citizen(client, tokens["access_token"], "张三", ID, PHONE)).status == 200
    rows = await raw_rows("person")
    assert len(rows) == 1
    for value in rows[0].values():
        text = str(value)
        assert ID not in text and ID[6:] not in text
        assert PHONE not in text
    assert rows[0]["id_number_enc"] and rows[0]["phone_enc"]
    # The audit log names the person by id and masked number only.
    for table in ("audit_entry", "account"):
        dump = str(await raw_rows(table))
        assert ID not in dump and PHONE not in dump


async def test_bad_json_and_wrong_types_change_nothing(client, c):
    tokens = await login_citizen(client, c)
    headers = bearer(tokens["access_token"]) | {"content-type": "application/json"}
    for path in (START, BINDING):
        _, resp = await client.post(path, content='{"name": "张三", '.encode(), headers=headers)
        assert_error(resp, 422, "MALFORMED_JSON")

    for path, payload in (
        (START, {"name": "张三", "id_number": 330106199001011234}),
        (START, {"name": ["张三"], "id_number": ID}),
        (START, {"name": "张三", "id_number": ID, "person_id": 1}),
        (START, {"name": "张三"}),
        (START, {"id_number": ID}),
        (START, {}),
        (BINDING, {"verify_id": 5}),
        (BINDING, {"verify_id": "x", "phone": 13812345678}),
        (BINDING, {}),
    ):
        _, resp = await client.post(path, json=payload, headers=bearer(tokens["access_token"]))
        error = assert_error(resp, 422, "VALIDATION_FAILED")
        assert error["details"]["fields"], payload
    assert await Person.all().count() == 0
    assert (await Account.get()).person_id is None  # type: ignore[attr-defined]


async def test_binding_needs_a_citizen_login(client, c):
    _, resp = await client.post(START, json={"name": "张三", "id_number": ID})
    assert_error(resp, 401)
    await make_staff_with_password(c, "staff01")
    staff = await login_staff(client)
    resp = await bind_citizen(client, staff["access_token"], "张三", ID)
    assert_error(resp, 403, "FORBIDDEN")
    assert await Person.all().count() == 0


async def test_binding_attempts_are_rate_limited(client, c):
    tokens = await login_citizen(client, c)
    limit = c.policies.access.at(c.clock.now().date()).bindings_per_hour
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    # Fixed one-hour windows: 2 × limit + 1 attempts overflow one window whatever the timing.
    hour = int(time.time()) // 3600
    statuses = [
        (await bind_citizen(client, tokens["access_token"], "张三", bad)).status
        for _ in range(2 * limit + 1)
    ]
    assert set(statuses) == {422, 429}
    resp = await bind_citizen(client, tokens["access_token"], "张三", ID)
    if int(time.time()) // 3600 == hour:  # all in one window: the valid one is refused too
        assert_error(resp, 429, "RATE_LIMITED")
        assert (await get_me(client, tokens["access_token"])).json["bound"] is False
    # Another account is not affected.
    other = await login_citizen(client, c, "other")
    other_id = id_number_for("330106", "19800808", "456")
    assert (await bind_citizen(client, other["access_token"], "李四", other_id)).status == 200


async def test_login_and_binding_are_audited_in_an_intact_chain(client, c):
    tokens = await login_citizen(client, c)
    assert (await bind_citizen(client, tokens["access_token"], "张三", ID, PHONE)).status == 200
    await seal_all(c)
    account = await Account.get()
    login = await AuditEntry.get(action="auth.citizen_login")
    binding = await AuditEntry.get(action="identity.real_name_bound")
    assert login.actor_id == account.id and login.subject_id == str(account.id)
    assert binding.actor_id == account.id and binding.actor_role == "citizen"
    assert binding.data["id_number"] == masked(ID)
    assert binding.data["person_id"] == account.person_id  # type: ignore[attr-defined]
    assert binding.seq > login.seq
    report = await verify_chain(c)
    assert report.ok, report.describe()
    assert report.checked == await AuditEntry.all().count()


# ---------------------------------------------------------------------------- proof of identity


async def test_name_and_number_alone_no_longer_bind(client, c):
    # The attack as reported: a stranger who knows a child's name and ID number binds it.
    child_id = id_number_for("330106", "20160606", "321")
    stranger = await login_citizen(client, c, "stranger")
    _, resp = await client.post(
        BINDING,
        json={"name": "张小宝", "id_number": child_id},
        headers=bearer(stranger["access_token"]),
    )
    assert_error(resp, 422, "VALIDATION_FAILED")
    # With the face check: the stranger's face is not the child's, so WeChat does not confirm it.
    resp = await bind_citizen(client, stranger["access_token"], "张小宝", child_id, outcome="fail")
    error = assert_error(resp, 422, "IDENTITY_NOT_VERIFIED")
    assert "人脸核身未通过" in error["message"]
    assert (await get_me(client, stranger["access_token"])).json["bound"] is False
    assert not await Account.filter(person_id__isnull=False).exists()
    assert await AuditEntry.filter(action="identity.face_verification_refused").count() == 1


async def test_a_check_made_for_a_different_person_is_refused(client, c):
    tokens = await login_citizen(client, c)
    resp = await bind_citizen(client, tokens["access_token"], "张三", ID, outcome="other_person")
    assert_error(resp, 422, "IDENTITY_NOT_VERIFIED")
    assert (await get_me(client, tokens["access_token"])).json["bound"] is False


async def start(client, token: str, name: str = "张三", id_number: str = ID) -> str:
    _, resp = await client.post(
        START, json={"name": name, "id_number": id_number}, headers=bearer(token)
    )
    assert resp.status == 201, resp.json
    assert resp.json["expires_in"] == 3600
    return resp.json["verify_id"]


async def face(client, verify_id: str, outcome: str = "pass") -> None:
    _, resp = await client.post(
        "/api/v1/dev/face-verify", json={"verify_id": verify_id, "outcome": outcome}
    )
    assert resp.status == 200


async def test_a_verify_id_is_the_starting_accounts_and_is_redeemed_once(client, c):
    owner = await login_citizen(client, c, "owner")
    verify_id = await start(client, owner["access_token"])
    await face(client, verify_id)
    thief = await login_citizen(client, c, "thief")
    _, resp = await client.post(
        BINDING, json={"verify_id": verify_id}, headers=bearer(thief["access_token"])
    )
    assert_error(resp, 404, "VERIFICATION_NOT_FOUND")
    _, resp = await client.post(
        BINDING, json={"verify_id": verify_id}, headers=bearer(owner["access_token"])
    )
    assert resp.status == 200 and resp.json["bound"] is True
    # Spent, and the account is bound now.
    _, resp = await client.post(
        BINDING, json={"verify_id": verify_id}, headers=bearer(owner["access_token"])
    )
    assert_error(resp, 409, "ALREADY_BOUND")


async def test_an_unfinished_or_expired_face_check_does_not_bind(client, c, clock):
    tokens = await login_citizen(client, c)
    verify_id = await start(client, tokens["access_token"])
    _, resp = await client.post(
        BINDING, json={"verify_id": verify_id}, headers=bearer(tokens["access_token"])
    )
    assert_error(resp, 422, "IDENTITY_NOT_VERIFIED")  # the face check never ran
    verify_id = await start(client, tokens["access_token"])
    await face(client, verify_id)
    clock.advance(seconds=3601)
    fresh = Login(await Account.get(), "")
    await fresh.relogin(c)  # the access token expired with the hour too
    _, resp = await client.post(BINDING, json={"verify_id": verify_id}, headers=fresh.headers)
    assert_error(resp, 409, "VERIFICATION_EXPIRED")
    assert (await get_me(client, fresh.token)).json["bound"] is False


async def test_binding_at_a_station_records_clerk_station_and_time(client, c):
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    tokens = await login_citizen(client, c)
    _, resp = await client.post(
        "/api/v1/me/binding/station-code", headers=bearer(tokens["access_token"])
    )
    assert resp.status == 200
    code = resp.json["code"]
    body = {"code": code, "name": "张三", "id_number": ID, "id_card_checked": False}
    _, resp = await client.post(STATION_BINDING, json=body, headers=clerk.headers)
    assert_error(resp, 422, "ID_CARD_NOT_CHECKED")
    body["id_card_checked"] = True
    _, resp = await client.post(STATION_BINDING, json=body, headers=clerk.headers)
    assert resp.status == 201, resp.json
    assert resp.json["station_id"] == tree["village_a"].id
    assert resp.json["clerk_id"] == clerk.account.id
    assert resp.json["person"]["id_number"] == masked(ID)
    assert (await get_me(client, tokens["access_token"])).json["bound"] is True
    proof = await RealNameProof.get()
    assert proof.method is ProofMethod.STATION
    assert proof.clerk_id == clerk.account.id  # type: ignore[attr-defined]
    assert proof.station_id == tree["village_a"].id  # type: ignore[attr-defined]
    assert proof.created_at == c.clock.now()
    entry = await AuditEntry.get(action="identity.real_name_bound")
    assert entry.actor_id == clerk.account.id and entry.data["method"] == "station"
    # The code is single-use.
    _, resp = await client.post(STATION_BINDING, json=body, headers=clerk.headers)
    assert_error(resp, 404, "BINDING_CODE_INVALID")


async def test_only_station_clerks_bind_at_a_station(client, c):
    supervisor = await make_staff(c, Role.SUPERVISOR, "sup")
    tokens = await login_citizen(client, c)
    _, resp = await client.post(
        "/api/v1/me/binding/station-code", headers=bearer(tokens["access_token"])
    )
    body = {"code": resp.json["code"], "name": "张三", "id_number": ID, "id_card_checked": True}
    _, resp = await client.post(STATION_BINDING, json=body, headers=supervisor.headers)
    assert_error(resp, 403)
    assert (await get_me(client, tokens["access_token"])).json["bound"] is False
