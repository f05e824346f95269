"""Real-name binding: GB 11643 validation, one ID number per account and one account per ID
number, encrypted storage, masking in every response, and the audit trail."""

from __future__ import annotations

import time

import pytest
from tortoise.connection import get_connection

from backend.audit.models import AuditEntry
from backend.audit.sealer import seal_all
from backend.audit.service import verify_chain
from backend.identity.models import Account, Person
from backend.identity.persons import find_or_create_person
from tests.api.test_auth import assert_error, get_me
from tests.factories import (
    bearer,
    bind_citizen,
    id_number_for,
    login_citizen,
    login_staff,
    make_staff_with_password,
)

BINDING = "/api/v1/me/binding"
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


async def test_id_number_bound_to_another_account_is_refused(client, c):
    first = await login_citizen(client, c, "first")
    assert (await bind_citizen(client, first["access_token"], "张三", ID)).status == 200
    second = await login_citizen(client, c, "second")
    resp = await bind_citizen(client, second["access_token"], "张三", ID, PHONE)
    error = assert_error(resp, 409, "ID_NUMBER_BOUND_ELSEWHERE")
    assert "已绑定其他账户" in error["message"]
    assert ID not in resp.text
    assert (await get_me(client, second["access_token"])).json["bound"] is False
    person = await Person.get()
    assert person.phone_enc is None  # the refused request left the person untouched


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
    _, resp = await client.post(BINDING, content='{"name": "张三", '.encode(), headers=headers)
    assert_error(resp, 422, "MALFORMED_JSON")

    for payload in (
        {"name": "张三", "id_number": 330106199001011234},
        {"name": ["张三"], "id_number": ID},
        {"name": "张三", "id_number": ID, "phone": 13812345678},
        {"name": "张三", "id_number": ID, "person_id": 1},
        {"name": "张三"},
        {"id_number": ID},
        {},
    ):
        _, resp = await client.post(BINDING, json=payload, headers=bearer(tokens["access_token"]))
        error = assert_error(resp, 422, "VALIDATION_FAILED")
        assert error["details"]["fields"], payload
    assert await Person.all().count() == 0
    assert (await Account.get()).person_id is None  # type: ignore[attr-defined]


async def test_binding_needs_a_citizen_login(client, c):
    _, resp = await client.post(BINDING, json={"name": "张三", "id_number": ID})
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
