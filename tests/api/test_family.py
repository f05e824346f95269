"""Family members (亲情账户): limits, consent of adult members, isolation and masking."""

from __future__ import annotations

from datetime import date, timedelta

from backend.audit.models import AuditEntry
from backend.clock import local_today
from backend.family.models import ConsentStatus, FamilyMember
from backend.family.service import can_act_for
from backend.identity.models import Person, Role
from backend.identity.persons import find_person
from tests.factories import (
    adult_id_number,
    make_citizen,
    make_id_number,
    make_staff,
    make_station_tree,
    minor_id_number,
    record_form,
)

FAMILY = "/api/v1/me/family"


async def _counts() -> tuple[int, int]:
    return await Person.all().count(), await FamilyMember.all().count()


async def _add(client, login, *, name="李小龙", id_number, relation="spouse", headers=None):
    return await client.post(
        FAMILY,
        json={"relation": relation, "name": name, "id_number": id_number},
        headers={**login.headers, **(headers or {})},
    )


def _assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status == status, response.text
    error = response.json["error"]
    assert error["message"]
    if code:
        assert error["code"] == code


async def test_minor_needs_no_consent_and_response_is_masked(c, client):
    owner = await make_citizen(c, "owner")
    child_id = minor_id_number(c)
    c.population_registry.record(child_id, [c.pii.decrypt(owner.person.id_number_enc, "id_number")])
    _, r = await _add(client, owner, name="张小宝", id_number=child_id, relation="child")
    assert r.status == 201, r.text
    body = r.json
    assert body["consent_status"] == "not_required"
    assert body["is_minor"] is True
    assert body["member"]["name"] == "张小宝"
    assert body["member"]["id_number"] == child_id[:4] + "*" * 10 + child_id[-4:]
    assert child_id not in r.text
    assert await can_act_for(c, owner.person.id, body["member"]["id"])

    _, listed = await client.get(FAMILY, headers=owner.headers)
    assert listed.status == 200
    assert [m["id"] for m in listed.json["items"]] == [body["id"]]
    assert listed.json["max_members"] == 5
    assert child_id not in listed.text
    _, one = await client.get(f"{FAMILY}/{body['id']}", headers=owner.headers)
    assert one.status == 200 and child_id not in one.text
    assert await AuditEntry.filter(action="family.member.add").count() == 1


async def test_adult_is_pending_until_consent_from_own_account(c, client):
    owner = await make_citizen(c, "owner", name="王芳芳")
    spouse_id = adult_id_number(c, 33)
    _, r = await _add(client, owner, name="刘大强", id_number=spouse_id)
    assert r.status == 201, r.text
    link_id, member_person_id = r.json["id"], r.json["member"]["id"]
    assert r.json["consent_status"] == "pending"
    assert not await can_act_for(c, owner.person.id, member_person_id)

    # The member logs in with their own account, bound to the same person, and grants.
    member = await make_citizen(c, "spouse", name="刘大强", id_number=spouse_id)
    assert member.person.id == member_person_id
    _, pending = await client.get("/api/v1/me/consents", headers=member.headers)
    assert pending.status == 200
    [request] = pending.json["items"]
    assert request["id"] == link_id and request["consent_status"] == "pending"
    assert request["requester"]["name"] == "王芳芳"
    assert owner.person.id_number_enc not in pending.text

    # The owner cannot grant on the member's behalf: the request is not theirs.
    _, wrong = await client.post(f"/api/v1/me/consents/{link_id}/grant", headers=owner.headers)
    _assert_error(wrong, 404)
    _, ok = await client.post(f"/api/v1/me/consents/{link_id}/grant", headers=member.headers)
    assert ok.status == 200, ok.text
    assert ok.json["consent_status"] == "granted"
    assert ok.json["consent_via"] == "member"
    _, again = await client.post(f"/api/v1/me/consents/{link_id}/grant", headers=member.headers)
    assert again.status == 200 and again.json["consent_status"] == "granted"

    _, seen = await client.get(f"{FAMILY}/{link_id}", headers=owner.headers)
    assert seen.json["consent_status"] == "granted"
    assert await can_act_for(c, owner.person.id, member_person_id)
    assert await AuditEntry.filter(action="family.consent.grant").count() == 1


async def test_member_can_decline(c, client):
    owner = await make_citizen(c, "owner")
    member_id = adult_id_number(c, 40)
    _, r = await _add(client, owner, name="赵敏敏", id_number=member_id)
    member = await make_citizen(c, "member", name="赵敏敏", id_number=member_id)
    _, declined = await client.post(
        f"/api/v1/me/consents/{r.json['id']}/decline", headers=member.headers
    )
    assert declined.status == 204
    _, gone = await client.get(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    _assert_error(gone, 404, "FAMILY_MEMBER_NOT_FOUND")


async def test_consent_through_station_authorisation(c, client):
    stations = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=stations["village_a"])
    owner_id = adult_id_number(c, 45)
    owner = await make_citizen(c, "owner", name="张大伟", id_number=owner_id)
    parent_id = adult_id_number(c, 70)
    _, r = await _add(client, owner, name="张建华", id_number=parent_id, relation="parent")
    assert r.json["consent_status"] == "pending"

    form = {
        "grantor_name": "张建华",
        "grantor_id_number": parent_id,
        "grantee_name": "张大伟",
        "grantee_id_number": owner_id,
        "purpose": "family_consent",
        "form_number": "SQ-0001",
    }
    recorded = await record_form(client, form, clerk.headers)
    assert recorded.status == 201, recorded.text
    assert recorded.json["family_link_id"] == r.json["id"]
    assert parent_id not in recorded.text and owner_id not in recorded.text

    _, seen = await client.get(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    assert seen.json["consent_status"] == "granted"
    assert seen.json["consent_via"] == "station"
    link = await FamilyMember.get(id=r.json["id"])
    assert link.consent_authorisation_id == recorded.json["id"]  # type: ignore[attr-defined]

    # A form recorded before the link exists grants it as soon as the link is added.
    sibling_id = adult_id_number(c, 42)
    early = await record_form(
        client,
        {
            **form,
            "grantor_name": "张小伟",
            "grantor_id_number": sibling_id,
            "form_number": "SQ-0002",
        },
        clerk.headers,
    )
    assert early.status == 201 and early.json["family_link_id"] is None
    _, added = await _add(client, owner, name="张小伟", id_number=sibling_id, relation="sibling")
    assert added.json["consent_status"] == "granted"


async def test_limit_is_enforced_and_changes_nothing(c, client):
    owner = await make_citizen(c, "owner")
    for i in range(5):
        _, r = await _add(client, owner, name=f"成员{i}号", id_number=minor_id_number(c, 3 + i))
        assert r.status == 201, r.text
    before = await _counts()
    _, r = await _add(client, owner, name="第六个人", id_number=adult_id_number(c))
    _assert_error(r, 409, "FAMILY_LIMIT_REACHED")
    assert r.json["error"]["details"]["max_members"] == 5
    assert await _counts() == before


async def test_duplicate_self_and_invalid_input_are_refused(c, client):
    own_id = adult_id_number(c, 30)
    owner = await make_citizen(c, "owner", name="孙悟空", id_number=own_id)
    member_id = adult_id_number(c, 31)
    _, first = await _add(client, owner, name="猪八戒", id_number=member_id)
    assert first.status == 201
    before = await _counts()

    _, dup = await _add(client, owner, name="猪八戒", id_number=member_id.lower())
    _assert_error(dup, 409, "FAMILY_MEMBER_EXISTS")
    _, self_ = await _add(client, owner, name="孙悟空", id_number=own_id)
    _assert_error(self_, 422, "FAMILY_SELF")

    bad_check = member_id[:17] + ("0" if member_id[17] != "0" else "1")
    other = make_id_number(date(1990, 6, 1))
    cases = [
        ({"relation": "spouse", "name": "沙和尚", "id_number": bad_check}, "ID_NUMBER_INVALID"),
        ({"relation": "spouse", "name": "沙和尚", "id_number": "12345"}, "ID_NUMBER_INVALID"),
        ({"relation": "spouse", "name": "沙和尚", "id_number": "110101203001011234"}, None),
        ({"relation": "cousin", "name": "沙和尚", "id_number": other}, "VALIDATION_FAILED"),
        ({"relation": "spouse", "name": 123, "id_number": other}, "VALIDATION_FAILED"),
        ({"relation": "spouse", "name": "沙", "id_number": other}, "NAME_INVALID"),
        ({"relation": "spouse", "name": "沙和尚"}, "VALIDATION_FAILED"),
        (
            {"relation": "spouse", "name": "沙和尚", "id_number": other, "admin": True},
            "VALIDATION_FAILED",
        ),
        # same ID number as an existing person, different name
        ({"relation": "spouse", "name": "沙悟净", "id_number": member_id}, "FAMILY_MEMBER_EXISTS"),
    ]
    for payload, code in cases:
        _, r = await client.post(FAMILY, json=payload, headers=owner.headers)
        assert 400 <= r.status < 500, (payload, r.status, r.text)
        if code:
            assert r.json["error"]["code"] == code, (payload, r.json)
    _, malformed = await client.post(
        FAMILY, content=b'{"relation": "spouse",', headers=owner.headers
    )
    _assert_error(malformed, 422, "MALFORMED_JSON")
    assert await _counts() == before


async def test_name_mismatch_with_known_person_is_refused(c, client):
    owner = await make_citizen(c, "owner")
    known_id = adult_id_number(c, 50)
    await make_citizen(c, "someone", name="林黛玉", id_number=known_id)
    before = await _counts()
    _, r = await _add(client, owner, name="林妹妹", id_number=known_id)
    _assert_error(r, 422, "NAME_MISMATCH")
    assert await _counts() == before


async def test_other_citizens_member_is_not_found(c, client):
    alice = await make_citizen(c, "alice", name="爱丽丝")
    bob = await make_citizen(c, "bob", name="鲍勃勃")
    _, r = await _add(client, alice, name="爱小丽", id_number=minor_id_number(c))
    link_id = r.json["id"]
    for method in ("get", "delete"):
        _, resp = await getattr(client, method)(f"{FAMILY}/{link_id}", headers=bob.headers)
        _assert_error(resp, 404, "FAMILY_MEMBER_NOT_FOUND")
    _, missing = await client.get(f"{FAMILY}/{link_id + 1000}", headers=bob.headers)
    assert missing.json["error"] == resp.json["error"]  # indistinguishable from a missing id
    assert await FamilyMember.exists(id=link_id)
    _, bobs = await client.get(FAMILY, headers=bob.headers)
    assert bobs.json["items"] == []
    assert not await can_act_for(c, bob.person.id, r.json["member"]["id"])


async def test_removed_member_is_gone(c, client):
    owner = await make_citizen(c, "owner")
    _, r = await _add(client, owner, name="钱多多", id_number=adult_id_number(c))
    _, deleted = await client.delete(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    assert deleted.status == 204
    _, gone = await client.get(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    _assert_error(gone, 404)
    _, again = await client.delete(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    _assert_error(again, 404)
    _, listed = await client.get(FAMILY, headers=owner.headers)
    assert listed.json["items"] == [] and listed.json["count"] == 0
    assert not await can_act_for(c, owner.person.id, r.json["member"]["id"])


async def test_minor_coming_of_age_needs_consent(c, client, clock):
    owner = await make_citizen(c, "owner")
    # 17 years and about ten months old today: a minor for roughly two more months
    born = local_today(clock) - timedelta(days=18 * 365 + 5 - 60)
    child_id = make_id_number(born)
    c.population_registry.record(child_id, [c.pii.decrypt(owner.person.id_number_enc, "id_number")])
    _, r = await _add(client, owner, name="成小年", id_number=child_id, relation="child")
    assert r.json["consent_status"] == "not_required"
    assert await can_act_for(c, owner.person.id, r.json["member"]["id"])
    clock.advance(days=120)
    await owner.relogin(c)
    _, later = await client.get(f"{FAMILY}/{r.json['id']}", headers=owner.headers)
    assert later.json["consent_status"] == "pending"
    assert later.json["is_minor"] is False
    assert not await can_act_for(c, owner.person.id, r.json["member"]["id"])


async def test_unbound_citizen_and_staff_are_refused(c, client):
    unbound = await make_citizen(c, "nobody", bind=False)
    _, r = await _add(client, unbound, name="某某某", id_number=adult_id_number(c))
    _assert_error(r, 403, "REAL_NAME_REQUIRED")
    _, listed = await client.get(FAMILY, headers=unbound.headers)
    _assert_error(listed, 403, "REAL_NAME_REQUIRED")
    admin = await make_staff(c, Role.ADMIN, "admin")
    _, staff = await client.get(FAMILY, headers=admin.headers)
    _assert_error(staff, 403)
    _, anonymous = await client.get(FAMILY)
    _assert_error(anonymous, 401)
    assert await FamilyMember.all().count() == 0


async def test_add_member_honours_idempotency_key(c, client):
    owner = await make_citizen(c, "owner")
    member_id = adult_id_number(c)
    key = {"Idempotency-Key": "family-add-0001"}
    _, first = await _add(client, owner, name="周芷若", id_number=member_id, headers=key)
    _, retry = await _add(client, owner, name="周芷若", id_number=member_id, headers=key)
    assert first.status == retry.status == 201
    assert retry.json == first.json
    assert await FamilyMember.filter(owner_id=owner.person.id).count() == 1
    _, changed = await _add(client, owner, name="周芷若", id_number=adult_id_number(c), headers=key)
    _assert_error(changed, 409)
    assert await FamilyMember.filter(owner_id=owner.person.id).count() == 1
    assert (await find_person(c, member_id)) is not None
    assert ConsentStatus(first.json["consent_status"]) is ConsentStatus.PENDING


async def test_concurrent_adds_respect_the_limit(c, on_postgres):
    import asyncio

    from backend.errors import Conflict
    from backend.family.models import Relation
    from backend.family.results import MemberView
    from backend.family.service import add_member
    from backend.identity.principal import Principal

    owner = await make_citizen(c, "owner")
    principal = Principal(owner.account.id, Role.CITIZEN, session="s")
    await add_member(
        c, principal, relation=Relation.CHILD, name="孩子一号", id_number=minor_id_number(c)
    )
    results = await asyncio.gather(
        *(
            add_member(
                c,
                principal,
                relation=Relation.OTHER,
                name=f"亲戚{i}号",
                id_number=adult_id_number(c),
            )
            for i in range(10)
        ),
        return_exceptions=True,
    )
    added = [r for r in results if isinstance(r, MemberView)]
    assert len(added) == 4
    assert all(isinstance(r, Conflict) for r in results if r not in added)
    assert await FamilyMember.filter(owner_id=owner.person.id).count() == 5
