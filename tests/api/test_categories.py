"""Subsidy categories take effect only with evidence (document number and scan) and the
approval of a second person; clerks act only within their station's scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.audit.models import AuditEntry
from backend.enrollment.models import PersonCategory
from backend.enrollment.service import category_of
from backend.identity.models import Person, Role
from backend.identity.persons import find_or_create_person
from tests.api.test_auth import assert_error
from tests.claim_helpers import test_photo
from tests.factories import Login, make_id_number, make_staff, make_station_tree

CHANGES = "/api/v1/enrollment/category-changes"


def evidence_file() -> dict[str, Any]:
    return {"evidence": ("tekun-certificate.jpg", test_photo(7), "image/jpeg")}


async def propose_category(
    client, who: Login, person_id: int, category: str = "dibao", **fields: str
) -> int:
    form = {"category": category, "valid_from": "2025-01-01", "evidence_number": "民救〔2025〕17号"}
    _, resp = await client.post(
        f"/api/v1/enrollment/persons/{person_id}/category-changes",
        data=form | fields,
        files=evidence_file(),
        headers=who.headers,
    )
    assert resp.status == 201, resp.json
    assert resp.json["status"] == "pending"
    return resp.json["id"]


async def approve_category(client, who: Login, change_id: int) -> dict[str, Any]:
    _, resp = await client.post(f"{CHANGES}/{change_id}/approve", json={}, headers=who.headers)
    assert resp.status == 200, resp.json
    return resp.json


async def _registered_person(c, station) -> Person:
    person = await find_or_create_person(c, "孙七", make_id_number(date(1950, 5, 5)))
    await Person.filter(id=person.id).update(home_station_id=station.id)
    return person


async def test_no_subsidy_without_evidence_and_a_second_person(client, c):
    # The attack as reported: any clerk set 特困 for any person and the premium was waived.
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    person = await _registered_person(c, tree["village_a"])
    # Without a scan of the document: refused.
    _, resp = await client.post(
        f"/api/v1/enrollment/persons/{person.id}/category-changes",
        data={"category": "tekun", "valid_from": "2025-01-01", "evidence_number": "X-1"},
        headers=clerk.headers,
    )
    assert_error(resp, 422, "FILE_REQUIRED")
    # Without the document number: refused.
    _, resp = await client.post(
        f"/api/v1/enrollment/persons/{person.id}/category-changes",
        data={"category": "tekun", "valid_from": "2025-01-01"},
        files=evidence_file(),
        headers=clerk.headers,
    )
    assert_error(resp, 422, "VALIDATION_FAILED")
    # With both: pending, and the premium does not change yet.
    change = await propose_category(client, clerk, person.id, "tekun")
    assert await category_of(person.id, date(2025, 6, 1)) is None
    # The proposer cannot approve their own change.
    _, resp = await client.post(f"{CHANGES}/{change}/approve", json={}, headers=clerk.headers)
    assert_error(resp, 403, "SECOND_PERSON_REQUIRED")
    assert not await PersonCategory.exists(person_id=person.id)
    # A second clerk of the station approves: now it counts.
    second = await make_staff(c, Role.STATION_STAFF, "clerk2", station=tree["village_a"])
    approved = await approve_category(client, second, change)
    assert approved["status"] == "approved" and approved["current_category"] == "tekun"
    row = await PersonCategory.get(person_id=person.id)
    assert row.category == "tekun" and "民救" in row.note
    actions = {e.action for e in await AuditEntry.all()}
    assert {"enrollment.category.proposed", "enrollment.category.approved"} <= actions
    # Deciding twice is refused.
    _, resp = await client.post(f"{CHANGES}/{change}/reject", json={}, headers=second.headers)
    assert_error(resp, 409, "CATEGORY_CHANGE_DECIDED")


async def test_a_clerk_of_another_station_cannot_propose_or_approve(client, c):
    tree = await make_station_tree(c)
    home = await make_staff(c, Role.STATION_STAFF, "home", station=tree["village_a"])
    stranger = await make_staff(c, Role.STATION_STAFF, "away", station=tree["village_b"])
    person = await _registered_person(c, tree["village_a"])
    _, resp = await client.post(
        f"/api/v1/enrollment/persons/{person.id}/category-changes",
        data={"category": "tekun", "valid_from": "2025-01-01", "evidence_number": "X-2"},
        files=evidence_file(),
        headers=stranger.headers,
    )
    assert_error(resp, 404, "PERSON_NOT_FOUND")
    change = await propose_category(client, home, person.id, "tekun")
    _, resp = await client.post(f"{CHANGES}/{change}/approve", json={}, headers=stranger.headers)
    assert_error(resp, 404, "CATEGORY_CHANGE_NOT_FOUND")
    assert not await PersonCategory.exists(person_id=person.id)


async def test_supervisors_see_the_list_of_changes(client, c):
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    supervisor = await make_staff(c, Role.SUPERVISOR, "boss")
    person = await _registered_person(c, tree["village_a"])
    change = await propose_category(client, clerk, person.id, "dibao")
    _, resp = await client.get(CHANGES, headers=supervisor.headers)
    assert resp.status == 200
    (item,) = resp.json["items"]
    assert item["id"] == change and item["evidence_number"] == "民救〔2025〕17号"
    assert item["proposed_by"] == clerk.account.id and item["status"] == "pending"
    _, resp = await client.get(CHANGES, headers=clerk.headers)
    assert_error(resp, 403)
