"""Clerk-recorded consent needs the grantor in person: the clerk checks the grantor's ID card
and uploads the signed form; the grantor is told in the app and can withdraw there."""

from __future__ import annotations

from backend.family.models import FamilyMember, StationAuthorisation
from backend.identity.models import Role
from tests.api.test_auth import assert_error
from tests.factories import (
    AUTHORISATIONS,
    adult_id_number,
    make_citizen,
    make_staff,
    make_station_tree,
    record_form,
)


async def _setup(c, client):
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    grantee_id, grantor_id = adult_id_number(c, 40), adult_id_number(c, 72, seq=555)
    grantee = await make_citizen(c, "son", name="张大伟", id_number=grantee_id)
    grantor = await make_citizen(c, "mother", name="刘桂兰", id_number=grantor_id)
    _, link = await client.post(
        "/api/v1/me/family",
        json={"relation": "parent", "name": "刘桂兰", "id_number": grantor_id},
        headers={**grantee.headers, "Idempotency-Key": "add-mother"},
    )
    assert link.status == 201 and link.json["consent_status"] == "pending"
    form = {
        "grantor_name": "刘桂兰",
        "grantor_id_number": grantor_id,
        "grantee_name": "张大伟",
        "grantee_id_number": grantee_id,
        "purpose": "family_consent",
        "form_number": "SQ-0100",
    }
    return clerk, grantee, grantor, link.json["id"], form


async def _can_act_for(client, who, person_id: int) -> bool:
    _, resp = await client.get(f"/api/v1/enrollment/persons/{person_id}", headers=who.headers)
    assert resp.status in (200, 404), resp.json
    return resp.status == 200


async def test_consent_without_the_grantor_in_person_is_refused(client, c):
    # The attack as reported: any clerk recorded an adult's consent for any pair of people.
    clerk, grantee, grantor, link_id, form = await _setup(c, client)
    refused = await record_form(client, form, clerk.headers, card_checked=False)
    assert_error(refused, 422, "ID_CARD_NOT_CHECKED")
    _, no_scan = await client.post(
        AUTHORISATIONS,
        data={**form, "grantor_id_card_checked": "true"},
        headers=clerk.headers,
    )
    assert_error(no_scan, 422, "FILE_REQUIRED")
    assert not await StationAuthorisation.exists()
    assert (await FamilyMember.get(id=link_id)).consent_status == "pending"
    assert not await _can_act_for(client, grantee, grantor.person.id)


async def test_the_grantor_is_told_and_can_withdraw_in_the_app(client, c):
    clerk, grantee, grantor, link_id, form = await _setup(c, client)
    recorded = await record_form(client, form, clerk.headers)
    assert recorded.status == 201, recorded.json
    row = await StationAuthorisation.get(id=recorded.json["id"])
    assert row.id_card_checked and row.scan_key and len(row.scan_sha256) == 64
    assert await _can_act_for(client, grantee, grantor.person.id)
    # The grantor is told in the app ...
    _, inbox = await client.get("/api/v1/me/inbox", headers=grantor.headers)
    assert any("授权" in m["title"] and "SQ-0100" in m["body"] for m in inbox.json["items"])
    _, mine = await client.get("/api/v1/me/authorisations", headers=grantor.headers)
    (item,) = mine.json["items"]
    assert item["form_number"] == "SQ-0100" and item["withdrawn_at"] is None
    # ... nobody else can withdraw it ...
    _, resp = await client.post(
        f"/api/v1/me/authorisations/{item['id']}/withdraw", headers=grantee.headers
    )
    assert_error(resp, 404)
    # ... and withdrawing ends what it allowed.
    _, resp = await client.post(
        f"/api/v1/me/authorisations/{item['id']}/withdraw", headers=grantor.headers
    )
    assert resp.status == 200 and resp.json["withdrawn_at"]
    assert not await FamilyMember.exists(id=link_id)
    assert not await _can_act_for(client, grantee, grantor.person.id)
