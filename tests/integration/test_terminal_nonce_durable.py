"""Terminal request nonces are spent in the database too (``backend.terminals.nonces``): after
Redis lost everything, a replayed signed request is still refused. Kept while the request's
timestamp could still be accepted, then cleaned by the periodic job."""

from __future__ import annotations

from backend.jobs import PERIODIC
from backend.terminals.models import TerminalNonce
from backend.vouchers.models import VoucherUse
from tests.factories import (
    VOUCHER_VERIFY,
    activate_voucher,
    make_citizen,
    make_terminal,
    signed_json,
    terminal_headers,
    voucher_code,
)
from tests.integration.kv_loss import forget_everything

WHOAMI = "/api/v1/terminal/whoami"
CLEAN = next(job for job in PERIODIC if job.name == "clean_terminal_nonces")


async def test_a_replayed_verification_is_refused_after_the_store_lost_everything(c, client):
    login = await make_citizen(c, "holder")
    vid = (await activate_voucher(client, login))["id"]
    terminal = await make_terminal(c)
    code = await voucher_code(client, login, vid)
    raw, headers = signed_json(c, terminal, VOUCHER_VERIFY, {"code": code, "purpose": "02121"})
    _, first = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert first.status == 200, first.text

    await forget_everything(c)
    _, replay = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert replay.status == 401, replay.text
    assert replay.json["error"]["code"] == "TERMINAL_NONCE_REPLAYED"
    assert await VoucherUse.filter(voucher_id=vid).count() == 1


async def test_a_replayed_request_is_refused_after_the_store_lost_everything(c, client):
    terminal = await make_terminal(c)
    headers = terminal_headers(c, terminal, "GET", WHOAMI)
    _, first = await client.get(WHOAMI, headers=headers)
    assert first.status == 200, first.text

    await forget_everything(c)
    _, replay = await client.get(WHOAMI, headers=headers)
    assert replay.status == 401, replay.text
    assert replay.json["error"]["code"] == "TERMINAL_NONCE_REPLAYED"


async def test_a_refused_verification_spends_its_nonce_durably(c, client):
    """A verification refused (here: an unreadable code) still spends its nonce, so the same
    signed request cannot be tried again later, with or without Redis."""
    terminal = await make_terminal(c)
    raw, headers = signed_json(c, terminal, VOUCHER_VERIFY, {"code": "x" * 40, "purpose": "02121"})
    _, first = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert first.status == 422, first.text
    await forget_everything(c)
    _, replay = await client.post(VOUCHER_VERIFY, content=raw, headers=headers)
    assert replay.status == 401, replay.text
    assert replay.json["error"]["code"] == "TERMINAL_NONCE_REPLAYED"


async def test_nonces_are_kept_while_their_timestamp_is_acceptable(c, client, clock):
    terminal = await make_terminal(c)
    headers = terminal_headers(c, terminal, "GET", WHOAMI)
    assert (await client.get(WHOAMI, headers=headers))[1].status == 200
    assert await CLEAN.run(c) == {"deleted": 0}
    assert await TerminalNonce.all().count() == 1

    skew = c.settings.terminal_max_skew_s
    clock.advance(seconds=skew + 1)
    assert await CLEAN.run(c) == {"deleted": 1}
    assert await TerminalNonce.all().count() == 0
    _, stale = await client.get(WHOAMI, headers=headers)  # refused anyway: too old
    assert stale.json["error"]["code"] == "TERMINAL_TIMESTAMP_STALE"
