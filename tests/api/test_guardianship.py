"""A minor is added as a child only with proof of guardianship: the population registry, or a
station clerk's check of the 出生医学证明 or 户口簿; another guardian may object."""

from __future__ import annotations

from backend.audit.models import AuditEntry
from backend.family.models import ConsentStatus, FamilyMember
from backend.family.service import can_act_for
from backend.identity.models import Role
from tests.api.test_auth import assert_error
from tests.factories import (
    adult_id_number,
    make_citizen,
    make_staff,
    make_station_tree,
    minor_id_number,
)

FAMILY = "/api/v1/me/family"
CHECKS = "/api/v1/station/guardianship-checks"


async def _add_child(client, who, child_id: str, name: str = "张小宝"):
    _, resp = await client.post(
        FAMILY,
        json={"relation": "child", "name": name, "id_number": child_id},
        headers={**who.headers, "Idempotency-Key": f"add-{who.account.id}-{child_id}"},
    )
    assert resp.status == 201, resp.json
    return resp.json


async def test_a_stranger_cannot_add_any_minor_as_a_child(client, c):
    # The attack as reported: any minor as "child" was not_required, and the stranger then got
    # a live voucher code for that child.
    stranger = await make_citizen(c, "stranger", name="陌生人")
    child_id = minor_id_number(c)
    link = await _add_child(client, stranger, child_id)
    assert link["consent_status"] == "unproven"
    assert not await can_act_for(c, stranger.person.id, link["member"]["id"])
    _, resp = await client.post(
        "/api/v1/me/vouchers", json={"person_id": link["member"]["id"]}, headers=stranger.headers
    )
    assert resp.status in (403, 404), resp.json
    _, resp = await client.get(
        f"/api/v1/enrollment/persons/{link['member']['id']}", headers=stranger.headers
    )
    assert_error(resp, 404)


async def test_the_registry_proves_a_parent(client, c):
    parent_id, child_id = adult_id_number(c, 36), minor_id_number(c)
    parent = await make_citizen(c, "parent", name="张大伟", id_number=parent_id)
    c.population_registry.record(child_id, [parent_id])
    link = await _add_child(client, parent, child_id)
    assert link["consent_status"] == "not_required"
    assert await can_act_for(c, parent.person.id, link["member"]["id"])
    row = await FamilyMember.get(id=link["id"])
    assert row.guardianship_basis == "registry"


async def test_a_clerk_checks_the_birth_certificate_in_person(client, c):
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    parent_id, child_id = adult_id_number(c, 30), minor_id_number(c, 1)
    parent = await make_citizen(c, "parent", name="李梅", id_number=parent_id)
    link = await _add_child(client, parent, child_id, "李小米")
    assert link["consent_status"] == "unproven"
    body = {
        "guardian_id_number": parent_id,
        "minor_id_number": child_id,
        "document_type": "birth_certificate",
        "document_number": "O330106123",
    }
    _, resp = await client.post(CHECKS, json=body, headers=clerk.headers)
    assert resp.status == 201, resp.json
    assert resp.json["consent_status"] == "not_required"
    row = await FamilyMember.get(id=link["id"])
    assert row.guardianship_basis == "station"
    assert row.guardianship_clerk_id == clerk.account.id
    assert row.guardianship_station_id == tree["village_a"].id
    assert "出生医学证明" in row.guardianship_document
    assert await AuditEntry.filter(action="family.guardianship.station_check").exists()
    assert await can_act_for(c, parent.person.id, link["member"]["id"])


async def test_another_guardian_is_told_and_an_objection_freezes_the_link(client, c):
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    mother_id, child_id = adult_id_number(c, 34, seq=301), minor_id_number(c, 6)
    mother = await make_citizen(c, "mother", name="王芳", id_number=mother_id)
    c.population_registry.record(child_id, [mother_id])
    await _add_child(client, mother, child_id, "刘子涵")
    stranger = await make_citizen(c, "stranger", name="赵某")
    link = await _add_child(client, stranger, child_id, "刘子涵")
    _, inbox = await client.get("/api/v1/me/inbox", headers=mother.headers)
    (message,) = [m for m in inbox.json["items"] if str(link["id"]) in m["body"]]
    assert "异议" in message["body"]
    _, resp = await client.post(
        f"{FAMILY}/guardianship/{link['id']}/objection", headers=mother.headers
    )
    assert resp.status == 200, resp.json
    row = await FamilyMember.get(id=link["id"])
    assert row.consent_status == ConsentStatus.FROZEN
    # Frozen: a clerk's document check alone does not unfreeze it without a decision to keep.
    body = {
        "guardian_id_number": c.pii.decrypt(stranger.person.id_number_enc, "id_number"),
        "minor_id_number": child_id,
        "document_type": "household_register",
        "document_number": "HK-001",
        "decision": "remove",
    }
    _, resp = await client.post(CHECKS, json=body, headers=clerk.headers)
    assert resp.status == 201, resp.json
    assert not await FamilyMember.exists(id=link["id"])
    # Nobody but another guardian of the minor can object.
    other = await make_citizen(c, "other", name="钱某")
    mine = await _add_child(client, other, minor_id_number(c, 9), "钱小")
    _, resp = await client.post(
        f"{FAMILY}/guardianship/{mine['id']}/objection", headers=stranger.headers
    )
    assert_error(resp, 404)
