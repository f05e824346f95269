# ruff: noqa: F811  (the api, ppl and reader fixtures are imported, then requested by name)
"""Reclaiming an identity: the person proves who they are and takes their ID number back from
the account that bound it without a proof (as the old name-and-number binding allowed); the
payouts the other account set are frozen until supervision staff review them."""

from __future__ import annotations

from datetime import timedelta

from backend.audit.models import AuditEntry
from backend.claims.access import BANK_FIELD
from backend.claims.models import Claim, ClaimStatus, Disbursement, DisbursementStatus
from backend.identity.models import Account, Role
from backend.identity.persons import id_number_of
from tests.api.test_auth import assert_error, get_me
from tests.claim_helpers import (
    decide,
    in_review_confirmed,
    ppl,  # noqa: F401  (fixture)
    reader,  # noqa: F401  (fixture)
    receipt_values,
)
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


async def test_a_frozen_payout_is_reviewed_before_it_is_paid(client, c, api, ppl, reader):
    # The account that bound 李小明 without a proof submits a claim with its own bank account.
    stranger = ppl.citizen
    review, case, task = await in_review_confirmed(api, ppl, c, reader, 71, receipt_values())
    # The real 李小明 proves who he is and reclaims his identity; then the claim is approved.
    real = await login_citizen(client, c, "real-li")
    id_number = id_number_of(c, stranger.person)
    assert (await bind_citizen(client, real["access_token"], "李小明", id_number)).status == 200
    await decide(api, ppl.reviewer, task, case["id"])
    mine = (
        await client.get(f"/api/v1/claims/{review['id']}", headers=bearer(real["access_token"]))
    )[1].json
    assert mine["payout_frozen"] is True and mine["payout"]["status"] == "frozen"
    payout_id = mine["payout"]["id"]
    # Frozen, it is never paid: finance is refused.
    paid = f"/api/v1/finance/disbursements/{payout_id}/paid"
    finance = await make_staff(c, Role.FINANCE, "finance")
    _, resp = await client.post(paid, json={"reference": "BANK-1"}, headers=finance.headers)
    assert_error(resp, 409, "PAYOUT_FROZEN")
    # Supervision staff see it, masked, with the account that set the bank account.
    _, resp = await client.get("/api/v1/supervision/frozen-payouts", headers=ppl.supervisor.headers)
    assert resp.status == 200
    (item,) = resp.json["items"]
    assert item["claim_id"] == review["id"] and item["set_by_account_id"] == stranger.account.id
    assert item["bank_account"].endswith("0123") and "6222021234" not in resp.text
    # Neither the citizen nor finance may decide; a bad account is a 422 and changes nothing.
    release = f"/api/v1/supervision/frozen-payouts/{review['id']}/release"
    decision = {"reason": "本人到站核验，改为本人账户", "bank_account": "6217000011112222333"}
    for who in (bearer(real["access_token"]), finance.headers):
        _, resp = await client.post(release, json=decision, headers=who)
        assert_error(resp, 403)
    _, resp = await client.post(
        release, json={**decision, "bank_account": "1" * 32},
        headers=ppl.supervisor.headers,
    )  # fmt: skip
    assert_error(resp, 422, "BANK_ACCOUNT_INVALID")
    # The supervisor replaces the account with the one the rightful person gave.
    _, resp = await client.post(release, json=decision, headers=ppl.supervisor.headers)
    assert resp.status == 200, resp.json
    assert resp.json["frozen_at"] is None and resp.json["payout"]["status"] == "scheduled"
    assert resp.json["payout"]["bank_account"].endswith("2333")
    entry = await AuditEntry.get(action="claim.payout_released", subject_id=str(review["id"]))
    assert entry.data["account_replaced"] is True and entry.reason == decision["reason"]
    assert "收款账户核查完成" in await inbox_titles(client, real["access_token"])
    _, resp = await client.post(release, json=decision, headers=ppl.supervisor.headers)
    assert_error(resp, 409, "PAYOUT_NOT_FROZEN")
    # Now, and only now, finance pays it, to the rightful person's account.
    _, resp = await client.post(paid, json={"reference": "BANK-2"}, headers=finance.headers)
    assert resp.status == 200, resp.json
    payout = await Disbursement.get(id=payout_id)
    assert c.pii.decrypt(payout.bank_account_enc, BANK_FIELD) == "6217000011112222333"
    _, resp = await client.get("/api/v1/supervision/frozen-payouts", headers=ppl.supervisor.headers)
    assert resp.json["items"] == []


async def test_a_payout_released_as_it_was_keeps_its_account(client, c):
    stranger = await make_citizen(c, "stranger", name="赵六", id_number=adult_id_number(c))
    claim = await _claim(c, stranger.person, stranger.account, "R-3", ClaimStatus.SUBMITTED)
    real = await login_citizen(client, c, "real")
    id_number = id_number_of(c, stranger.person)
    assert (await bind_citizen(client, real["access_token"], "赵六", id_number)).status == 200
    boss = await make_staff(c, Role.SUPERVISOR, "boss")
    _, resp = await client.post(
        f"/api/v1/supervision/frozen-payouts/{claim.id}/release",
        json={"reason": "经核实该账户为本人亲属代办时所填，本人确认"},
        headers=boss.headers,
    )
    assert resp.status == 200, resp.json
    assert resp.json["payout"] is None and resp.json["bank_account"].endswith("3445")
    fresh = await Claim.get(id=claim.id)
    assert fresh.payout_frozen_at is None and fresh.bank_account_enc == claim.bank_account_enc
    entry = await AuditEntry.get(action="claim.payout_released")
    assert entry.data["account_replaced"] is False
