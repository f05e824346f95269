"""Stations: the hierarchy, delegated items and their subset rule, and station scoping of
assisted-service records and citizen look-ups."""

from __future__ import annotations

from backend.audit.models import AuditEntry
from backend.family.models import StationAuthorisation
from backend.identity.models import Role
from backend.stations.models import Station
from backend.stations.service import station_accepts
from tests.factories import (
    adult_id_number,
    make_citizen,
    make_staff,
    make_station_tree,
    record_form,
)

AUTHS = "/api/v1/station/authorisations"
LOOKUP = "/api/v1/station/citizen-lookup"


def _codes(node: dict) -> list[str]:
    return [i["code"] for i in node["delegated_items"]]


async def test_tree_nests_levels_with_their_items(c, client):
    stations = await make_station_tree(c)
    citizen = await make_citizen(c, "someone")
    _, r = await client.get("/api/v1/stations", headers=citizen.headers)
    assert r.status == 200, r.text
    [district] = r.json["items"]
    assert district["level"] == "district" and district["parent_id"] is None
    assert [t["code"] for t in district["children"]] == ["D01-T01", "D01-T02"]
    town_b = district["children"][1]
    assert _codes(town_b) == ["insurance_info_change", "enrollment", "remote_care_filing"]
    assert town_b["delegated_items"][1]["name"]
    [village_b] = town_b["children"]
    assert village_b["level"] == "village" and _codes(village_b) == ["enrollment"]
    assert {i["code"] for i in r.json["service_items"]} >= {"reimbursement", "chronic_disease"}

    _, one = await client.get(f"/api/v1/stations/{stations['town_b'].id}", headers=citizen.headers)
    assert one.status == 200 and [ch["id"] for ch in one.json["children"]] == [village_b["id"]]
    _, missing = await client.get("/api/v1/stations/999999", headers=citizen.headers)
    assert missing.status == 404 and missing.json["error"]["code"] == "STATION_NOT_FOUND"
    _, anonymous = await client.get("/api/v1/stations")
    assert anonymous.status == 401

    assert station_accepts(stations["village_b"], "enrollment")
    assert not station_accepts(stations["village_b"], "reimbursement")


async def test_admin_updates_items_within_the_subset_rule(c, client):
    stations = await make_station_tree(c)
    admin = await make_staff(c, Role.ADMIN, "admin")
    village_b, town_a = stations["village_b"], stations["town_a"]

    async def put(station: Station, items: list[str], **extra):
        return await client.put(
            f"/api/v1/stations/{station.id}/items",
            json={"items": items, **extra},
            headers=admin.headers,
        )

    # A child may not take on what its parent does not handle.
    _, r = await put(village_b, ["enrollment", "reimbursement"])
    assert r.status == 422 and r.json["error"]["code"] == "ITEMS_NOT_DELEGATED_BY_PARENT"
    assert r.json["error"]["details"]["items"] == ["reimbursement"]
    # A parent may not withdraw what a child still handles.
    _, r = await put(town_a, ["reimbursement"])
    assert r.status == 409 and r.json["error"]["code"] == "ITEMS_STILL_DELEGATED_TO_CHILDREN"
    assert r.json["error"]["details"]["child_ids"] == [stations["village_a"].id]
    # Unknown codes, wrong types, extra fields
    for payload in (
        {"items": ["teleportation"]},
        {"items": "enrollment"},
        {"items": [1]},
        {"items": [], "level": "district"},
        {},
    ):
        _, bad = await client.put(
            f"/api/v1/stations/{village_b.id}/items", json=payload, headers=admin.headers
        )
        assert bad.status == 422, (payload, bad.text)
    _, missing = await put(Station(id=987654), ["enrollment"])  # type: ignore[call-arg]
    assert missing.status == 404
    assert (await Station.get(id=village_b.id)).delegated_items == ["enrollment"]
    assert (await Station.get(id=town_a.id)).delegated_items == (town_a.delegated_items)
    assert await AuditEntry.filter(action="station.items.update").count() == 0

    # Valid: the village gains an item its town has (duplicates collapse, catalogue order)
    _, ok = await put(
        village_b, ["remote_care_filing", "enrollment", "enrollment"], reason="试点扩面"
    )
    assert ok.status == 200, ok.text
    assert _codes(ok.json) == ["enrollment", "remote_care_filing"]
    assert (await Station.get(id=village_b.id)).delegated_items == [
        "enrollment",
        "remote_care_filing",
    ]
    [entry] = await AuditEntry.filter(action="station.items.update")
    assert entry.actor_id == admin.account.id and entry.actor_role == "admin"
    assert entry.subject_id == str(village_b.id) and entry.reason == "试点扩面"
    assert entry.data == {"before": ["enrollment"], "after": ["enrollment", "remote_care_filing"]}

    # Withdrawing from a parent works once the children no longer handle it.
    _, ok = await put(stations["village_a"], ["enrollment"])
    assert ok.status == 200
    _, ok = await put(town_a, ["enrollment", "reimbursement"])
    assert ok.status == 200, ok.text


async def test_only_admins_update_items(c, client):
    stations = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=stations["village_b"])
    supervisor = await make_staff(c, Role.SUPERVISOR, "boss")
    citizen = await make_citizen(c, "someone")
    url = f"/api/v1/stations/{stations['village_b'].id}/items"
    for login in (clerk, supervisor, citizen):
        _, r = await client.put(url, json={"items": []}, headers=login.headers)
        assert r.status == 403 and r.json["error"]["code"] == "FORBIDDEN"
    _, r = await client.put(url, json={"items": []})
    assert r.status == 401
    assert (await Station.get(id=stations["village_b"].id)).delegated_items == ["enrollment"]


async def _record(client, clerk, form_number: str, c) -> dict:
    grantor, grantee = adult_id_number(c, 60), adult_id_number(c, 30)
    r = await record_form(
        client,
        {
            "grantor_name": "王老汉",
            "grantor_id_number": grantor,
            "grantee_name": "王小二",
            "grantee_id_number": grantee,
            "purpose": "assisted_case",
            "form_number": form_number,
        },
        clerk.headers,
    )
    assert r.status == 201, r.text
    assert grantor not in r.text and grantee not in r.text
    return r.json


async def test_staff_see_only_their_stations_authorisations(c, client):
    stations = await make_station_tree(c)
    clerk_a = await make_staff(c, Role.STATION_STAFF, "clerk_a", station=stations["village_a"])
    clerk_b = await make_staff(c, Role.STATION_STAFF, "clerk_b", station=stations["village_b"])
    admin = await make_staff(c, Role.ADMIN, "admin")
    reviewer = await make_staff(c, Role.REVIEWER, "rev", categories=("reimbursement",))
    citizen = await make_citizen(c, "someone")

    a1 = await _record(client, clerk_a, "A-001", c)
    a2 = await _record(client, clerk_a, "A-002", c)
    b1 = await _record(client, clerk_b, "B-001", c)
    assert a1["station_id"] == stations["village_a"].id

    _, listed = await client.get(AUTHS, headers=clerk_a.headers)
    assert listed.status == 200
    assert [x["id"] for x in listed.json["items"]] == [a2["id"], a1["id"]]
    assert listed.json["total"] == 2
    _, listed_b = await client.get(AUTHS, headers=clerk_b.headers)
    assert [x["id"] for x in listed_b.json["items"]] == [b1["id"]]
    # Asking for the other station's list yields nothing of it.
    _, other = await client.get(
        f"{AUTHS}?station_id={stations['village_b'].id}", headers=clerk_a.headers
    )
    assert other.json["items"] == [] and other.json["total"] == 0

    _, own = await client.get(f"{AUTHS}/{a1['id']}", headers=clerk_a.headers)
    assert own.status == 200 and own.json["form_number"] == "A-001"
    _, foreign = await client.get(f"{AUTHS}/{b1['id']}", headers=clerk_a.headers)
    assert foreign.status == 404 and foreign.json["error"]["code"] == "AUTHORISATION_NOT_FOUND"
    _, missing = await client.get(f"{AUTHS}/{b1['id'] + 100}", headers=clerk_a.headers)
    assert missing.json["error"] == foreign.json["error"]

    for login in (reviewer, citizen):
        _, r = await client.get(AUTHS, headers=login.headers)
        assert r.status == 403

    # Admins see every station's records, and each read is audited.
    assert await AuditEntry.filter(actor_id=admin.account.id).count() == 0
    _, everything = await client.get(AUTHS, headers=admin.headers)
    assert {x["id"] for x in everything.json["items"]} == {a1["id"], a2["id"], b1["id"]}
    _, one = await client.get(f"{AUTHS}/{b1['id']}", headers=admin.headers)
    assert one.status == 200
    actions = await AuditEntry.filter(actor_id=admin.account.id).values_list("action", flat=True)
    assert sorted(actions) == ["station.authorisation.list", "station.authorisation.read"]


async def test_recording_authorisations_validates_and_changes_nothing_when_bad(c, client):
    stations = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=stations["village_a"])
    admin = await make_staff(c, Role.ADMIN, "admin")
    first = await _record(client, clerk, "F-001", c)
    before = await StationAuthorisation.all().count()
    good = {
        "grantor_name": "王老汉",
        "grantor_id_number": adult_id_number(c, 61),
        "grantee_name": "王小二",
        "grantee_id_number": adult_id_number(c, 31),
        "purpose": "assisted_case",
        "form_number": "F-002",
    }
    bad_payloads = [
        {**good, "form_number": "F-001"},  # already recorded at this station
        {**good, "grantee_id_number": good["grantor_id_number"], "grantee_name": "王老汉"},
        {**good, "grantor_id_number": good["grantor_id_number"][:17] + "Y"},
        {**good, "purpose": "anything"},
        {**good, "form_number": ""},
        {**good, "form_number": "F 003; DROP"},
        {**good, "clerk_id": 1},
    ]
    for payload in bad_payloads:
        r = await record_form(client, payload, clerk.headers)
        assert r.status in (409, 422), (payload, r.text)
        assert r.json["error"]["message"]
    r = await record_form(client, good, admin.headers)
    assert r.status == 403  # only clerks of a station record forms
    assert await StationAuthorisation.all().count() == before
    assert first["id"]


async def test_citizen_lookup_requires_a_reason_and_is_audited(c, client):
    stations = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=stations["village_a"])
    citizen_id = adult_id_number(c, 66)
    citizen = await make_citizen(c, "elder", name="李大爷", id_number=citizen_id)

    for payload in (
        {"id_number": citizen_id},
        {"id_number": citizen_id, "reason": "  "},
        {"id_number": citizen_id, "reason": "查"},
        {"id_number": "123", "reason": "帮老人办理参保登记"},
        {"id_number": citizen_id, "reason": "帮老人办理参保登记", "x": 1},
    ):
        _, r = await client.post(LOOKUP, json=payload, headers=clerk.headers)
        assert r.status == 422, (payload, r.text)
    assert await AuditEntry.filter(action="person.lookup").count() == 0

    _, r = await client.post(
        LOOKUP,
        json={"id_number": citizen_id, "reason": "帮老人办理参保登记"},
        headers=clerk.headers,
    )
    assert r.status == 200, r.text
    assert r.json["person"]["name"] == "李大爷" and r.json["has_account"] is True
    assert citizen_id not in r.text
    [entry] = await AuditEntry.filter(action="person.lookup")
    assert entry.actor_id == clerk.account.id and entry.actor_role == "station_staff"
    assert entry.subject_type == "person" and entry.subject_id == str(citizen.person.id)
    assert entry.reason == "帮老人办理参保登记"
    assert citizen_id not in str(entry.data)

    unknown = adult_id_number(c, 20)
    _, r = await client.post(
        LOOKUP, json={"id_number": unknown, "reason": "核实参保身份"}, headers=clerk.headers
    )
    assert r.status == 404 and r.json["error"]["code"] == "PERSON_NOT_FOUND"
    assert await AuditEntry.filter(action="person.lookup").count() == 2
    assert not await AuditEntry.filter(subject_id__contains=unknown).exists()

    _, r = await client.post(
        LOOKUP, json={"id_number": citizen_id, "reason": "自己查自己"}, headers=citizen.headers
    )
    assert r.status == 403


async def test_endpoints_are_documented(client):
    _, r = await client.get("/docs/openapi.json")
    paths = r.json["paths"]
    for path in (
        "/api/v1/stations",
        "/api/v1/stations/{station_id}/items",
        "/api/v1/station/authorisations",
        "/api/v1/station/authorisations/{form_id}",
        "/api/v1/station/citizen-lookup",
        "/api/v1/me/family",
        "/api/v1/me/family/{member_id}",
        "/api/v1/me/consents/{link_id}/grant",
    ):
        assert path in paths, path
