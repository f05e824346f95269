"""Reclaiming an identity: the person proves who they are and takes their ID number back from
the account that bound it without a proof (as the old name-and-number binding allowed)."""

from __future__ import annotations

from datetime import timedelta

from backend.audit.models import AuditEntry
from backend.claims.access import BANK_FIELD
from backend.claims.models import Claim, ClaimStatus, Disbursement, DisbursementStatus
from backend.identity.models import Account, Role
from tests.api.test_auth import assert_error, get_me
from tests.factories import (
    adult_id_number,
    bearer,
    bind_citizen,
    login_citizen,
    make_citizen,
    make_staff,
)


async def _claim(c, person, account, number: str, status: ClaimStatus) -> Claim:
    now = c.clock.now()
    return await Claim.create(
        number=number,
        person=person,
        created_by=account,
        channel="app",
        status=status,
        bank_name="某银行",
        bank_account_enc=c.pii.encrypt("6222020200112233445", BANK_FIELD),
        created_at=now,
        updated_at=now,
    )


async def inbox_titles(client, token: str) -> list[str]:
    _, resp = await client.get("/api/v1/me/inbox", headers=bearer(token))
    assert resp.status == 200, resp.json
    return [m["title"] for m in resp.json["items"]]


async def test_the_person_reclaims_their_identity_end_to_end(client, c):
    id_number = adult_id_number(c)
    # A stranger bound the person's ID number and set his own bank account on two claims.
    stranger = await make_citizen(c, "stranger", name="赵六", id_number=id_number)
    person = stranger.person
    submitted = await _claim(c, person, stranger.account, "R-1", ClaimStatus.SUBMITTED)
    approved = await _claim(c, person, stranger.account, "R-2", ClaimStatus.APPROVED)
    payout = await Disbursement.create(
        claim=approved,
        person_id=person.id,
        amount_fen=12345,
        year=c.clock.now().year,
        bank_name="某银行",
        bank_account_enc=approved.bank_account_enc,
        status=DisbursementStatus.SCHEDULED,
        due_date=(c.clock.now() + timedelta(days=5)).date(),
        created_at=c.clock.now(),
    )

    # The real person passes the face verification for their own name and number.
    real = await login_citizen(client, c, "real")
    resp = await bind_citizen(client, real["access_token"], "赵六", id_number)
    assert resp.status == 200, resp.json
    assert resp.json["person"]["id"] == person.id

    # The stranger's binding ended and every session of theirs is revoked at once.
    assert_error(await get_me(client, stranger.token), 401)
    assert (await Account.get(id=stranger.account.id)).person_id is None  # type: ignore[attr-defined]
    # The payout accounts the stranger set are frozen for review; finance cannot pay them.
    for claim in (submitted, approved):
        assert (await Claim.get(id=claim.id)).payout_frozen_at is not None
    assert (await Disbursement.get(id=payout.id)).status is DisbursementStatus.FROZEN
    finance = await make_staff(c, Role.SUPERVISOR, "finance")
    _, resp = await client.post(
        f"/api/v1/finance/disbursements/{payout.id}/paid",
        json={"reference": "BANK-1"},
        headers=finance.headers,
    )
    assert_error(resp, 409, "PAYOUT_FROZEN")
    # Supervision staff get an alert naming what was frozen.
    _, resp = await client.get("/api/v1/supervision/identity-alerts", headers=finance.headers)
    assert resp.status == 200
    (alert,) = resp.json["items"]
    assert alert["previous_account_id"] == stranger.account.id
    assert sorted(alert["frozen_claim_ids"]) == sorted([submitted.id, approved.id])
    assert alert["person"]["id_number"].count("*") >= 10
    # Both accounts get a message.
    assert "身份已取回" in await inbox_titles(client, real["access_token"])
    again = await login_citizen(client, c, "stranger")  # the same WeChat user logs in again
    assert "实名绑定已解除" in await inbox_titles(client, again["access_token"])
    assert (await get_me(client, again["access_token"])).json["bound"] is False
    entry = await AuditEntry.get(action="identity.reclaimed")
    assert entry.data["previous_account_id"] == stranger.account.id


async def test_a_citizen_cannot_see_the_alerts(client, c):
    citizen = await make_citizen(c)
    _, resp = await client.get("/api/v1/supervision/identity-alerts", headers=citizen.headers)
    assert_error(resp, 403)
