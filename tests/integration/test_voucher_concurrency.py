"""One code, scanned at the same moment by several terminals, on PostgreSQL + Redis: exactly one
verification succeeds and exactly one use is recorded."""

from __future__ import annotations

import asyncio

from backend.infra.kv import RedisStore
from backend.vouchers.models import VoucherUse
from tests.factories import (
    activate_voucher,
    make_citizen,
    make_terminal,
    terminal_verify,
    voucher_code,
)


async def test_two_terminals_replaying_one_code_exactly_one_succeeds(c, client, on_postgres):
    assert isinstance(c.kv, RedisStore)  # the replay guard under test is Redis SET NX
    login = await make_citizen(c, "holder")
    vid = (await activate_voucher(client, login))["id"]
    first = await make_terminal(c, institution_code="P33010600001", name="康民大药房")
    second = await make_terminal(c, institution_code="P33010600002", name="仁和大药房")

    for _ in range(5):  # several rounds: one lucky interleaving proves little
        code = await voucher_code(client, login, vid)
        responses = await asyncio.gather(
            terminal_verify(client, c, first, code), terminal_verify(client, c, second, code)
        )
        statuses = sorted(r.status for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status == 409)
        assert refused.json["error"]["code"] == "VOUCHER_CODE_USED"
    assert await VoucherUse.filter(voucher_id=vid).count() == 5


async def test_many_terminals_one_code(c, client, on_postgres):
    login = await make_citizen(c, "holder")
    vid = (await activate_voucher(client, login))["id"]
    terminals = [
        await make_terminal(c, institution_code=f"P3301060{i:04d}", name=f"药房{i}")
        for i in range(8)
    ]
    code = await voucher_code(client, login, vid)
    responses = await asyncio.gather(*(terminal_verify(client, c, t, code) for t in terminals))
    assert sorted(r.status for r in responses) == [200] + [409] * 7
    assert await VoucherUse.filter(voucher_id=vid).count() == 1
