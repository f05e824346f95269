"""Idempotency-Key through a real creating endpoint: POST /api/v1/me/family."""

from __future__ import annotations

import asyncio

from backend.family.models import FamilyMember
from backend.idempotency.models import IdempotencyRecord
from tests.factories import adult_id_number, make_citizen, minor_id_number

FAMILY = "/api/v1/me/family"


def _member(id_number: str, name: str = "周芷若") -> dict[str, str]:
    return {"relation": "spouse", "name": name, "id_number": id_number}


async def test_retry_is_replayed_with_the_same_answer(c, client):
    owner = await make_citizen(c, "owner")
    body = _member(adult_id_number(c))
    headers = {**owner.headers, "Idempotency-Key": "add-spouse-1"}
    _, first = await client.post(FAMILY, json=body, headers=headers)
    _, retry = await client.post(FAMILY, json=body, headers=headers)
    assert (first.status, retry.status) == (201, 201), first.text
    assert retry.json == first.json
    assert retry.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert await FamilyMember.all().count() == 1


async def test_reused_key_with_another_body_is_409_and_changes_nothing(c, client):
    owner = await make_citizen(c, "owner")
    headers = {**owner.headers, "Idempotency-Key": "add-1"}
    await client.post(FAMILY, json=_member(adult_id_number(c)), headers=headers)
    _, other = await client.post(
        FAMILY, json=_member(minor_id_number(c), "张无忌"), headers=headers
    )
    assert other.status == 409
    assert other.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await FamilyMember.all().count() == 1


async def test_a_refused_request_is_not_stored_and_the_corrected_retry_runs(c, client):
    owner = await make_citizen(c, "owner")
    headers = {**owner.headers, "Idempotency-Key": "add-2"}
    _, bad = await client.post(FAMILY, json=_member("110105194912310021"), headers=headers)
    assert 400 <= bad.status < 500 and bad.status != 409, bad.text
    assert await IdempotencyRecord.all().count() == 0
    _, good = await client.post(FAMILY, json=_member(adult_id_number(c)), headers=headers)
    assert good.status == 201, good.text
    assert await FamilyMember.all().count() == 1


async def test_keys_belong_to_their_account(c, client):
    one = await make_citizen(c, "one")
    two = await make_citizen(c, "two", name="王五")
    for login in (one, two):
        _, response = await client.post(
            FAMILY,
            json=_member(minor_id_number(c), "张无忌"),
            headers={**login.headers, "Idempotency-Key": "same-key"},
        )
        assert response.status == 201, response.text
        assert "idempotency-replayed" not in response.headers
    assert await FamilyMember.all().count() == 2


async def test_malformed_key_is_422(c, client):
    owner = await make_citizen(c, "owner")
    _, response = await client.post(
        FAMILY,
        json=_member(adult_id_number(c)),
        headers={**owner.headers, "Idempotency-Key": "k" * 129},
    )
    assert response.status == 422
    assert response.json["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert await FamilyMember.all().count() == 0


async def test_concurrent_retries_create_one_member(c, client, on_postgres):
    owner = await make_citizen(c, "owner")
    body = _member(adult_id_number(c))
    headers = {**owner.headers, "Idempotency-Key": "double-tap"}
    responses = await asyncio.gather(
        *(client.post(FAMILY, json=body, headers=headers) for _ in range(5))
    )
    statuses = sorted(r.status for _, r in responses)
    assert 201 in statuses and set(statuses) <= {201, 409}, statuses
    conflicts = [r for _, r in responses if r.status == 409]
    assert all(r.json["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS" for r in conflicts)
    assert await FamilyMember.all().count() == 1
