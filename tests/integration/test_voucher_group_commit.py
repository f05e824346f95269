"""Online voucher uses are recorded in groups (``backend.vouchers.use_log``): verifications that
arrive together share one statement and one commit, and each still gets its own outcome.

The batcher is made to flush only full batches here, so the requests of a test are certain to
share one batch; everything else is the real path (HTTP, Redis or the in-process store, the
database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from tortoise import Tortoise

from backend.clock import local_today
from backend.container import Container
from backend.infra.group_commit import GroupCommit
from backend.terminals.models import TerminalNonce
from backend.vouchers import use_log
from backend.vouchers.models import Voucher, VoucherStatus, VoucherUse
from backend.vouchers.use_log import UseRequest
from tests.factories import activate_voucher, make_citizen, make_terminal, voucher_code
from tests.factories import terminal_verify as verify
from tests.integration.kv_loss import forget_everything

Batcher = Callable[[int], GroupCommit]


@pytest.fixture
def one_batch(c: Container) -> Iterator[Batcher]:
    """``one_batch(n)``: this process's use batcher flushes only when ``n`` uses wait."""

    def configure(n: int) -> GroupCommit:
        c.group_commits.pop(use_log.BATCHER, None)
        return use_log.batcher(c, window_s=30, max_batch=n)

    yield configure
    c.group_commits.pop(use_log.BATCHER, None)


async def _holders(c, client, n: int) -> list[tuple[object, str]]:
    """``n`` citizens with an active voucher each: (login, voucher id)."""
    out = []
    for i in range(n):
        login = await make_citizen(c, f"holder-{i}")
        out.append((login, (await activate_voucher(client, login))["id"]))
    return out


async def test_a_conflicting_use_fails_only_its_own_verification(c, client, one_batch):
    (a, va), (b, vb), (d, vd) = await _holders(c, client, 3)
    first = await make_terminal(c, institution_code="P33010600001", name="康民大药房")
    second = await make_terminal(c, institution_code="P33010600002", name="仁和大药房")
    code_a = await voucher_code(client, a, va)
    assert (await verify(client, c, first, code_a)).status == 200
    await forget_everything(c)  # Redis lost the code's first use: only the row remembers it

    one_batch(3)
    responses = await asyncio.gather(
        verify(client, c, second, code_a),
        verify(client, c, first, await voucher_code(client, b, vb)),
        verify(client, c, second, await voucher_code(client, d, vd)),
    )
    assert [r.status for r in responses] == [409, 200, 200], [r.text for r in responses]
    assert responses[0].json["error"]["code"] == "VOUCHER_CODE_USED"
    for response, vid in zip(responses[1:], (vb, vd), strict=True):
        use = await VoucherUse.get(id=response.json["use"]["id"])
        assert use.voucher_id == vid  # type: ignore[attr-defined]
    for vid in (va, vb, vd):
        assert await VoucherUse.filter(voucher_id=vid).count() == 1


async def test_a_failing_batch_fails_every_verification_and_records_nothing(
    c, client, one_batch, on_postgres
):
    holders = await _holders(c, client, 3)
    terminal = await make_terminal(c)
    codes = [await voucher_code(client, login, vid) for login, vid in holders]
    bad = holders[2][1]
    conn = Tortoise.get_connection("default")
    # The database refuses one row of the batch (as a full disk or a lost server would refuse
    # them all): the whole statement fails.
    await conn.execute_script(
        f"ALTER TABLE voucher_use ADD CONSTRAINT test_refuse CHECK (voucher_id <> '{bad}')"
    )
    try:
        one_batch(3)
        responses = await asyncio.gather(*(verify(client, c, terminal, code) for code in codes))
    finally:
        await conn.execute_script("ALTER TABLE voucher_use DROP CONSTRAINT test_refuse")
    assert [r.status for r in responses] == [503] * 3, [r.text for r in responses]
    assert {r.json["error"]["code"] for r in responses} == {"VOUCHER_USE_NOT_RECORDED"}
    assert await VoucherUse.all().count() == 0
    assert await TerminalNonce.all().count() == 0  # the nonces were in the same transaction

    # Nothing was recorded, so the same codes can be scanned again.
    c.group_commits.pop(use_log.BATCHER)
    again = await asyncio.gather(*(verify(client, c, terminal, code) for code in codes))
    assert [r.status for r in again] == [200] * 3, [r.text for r in again]
    assert await VoucherUse.all().count() == 3


async def test_the_write_decides_whether_the_voucher_is_active(c, client):
    """The cached voucher state can lag a change that skipped the invalidation; the use is only
    inserted if the voucher is active when the batch is written."""
    [(login, vid)] = await _holders(c, client, 1)
    terminal = await make_terminal(c)
    assert (await verify(client, c, terminal, await voucher_code(client, login, vid))).status == 200
    code = await voucher_code(client, login, vid)
    await Voucher.filter(id=vid).update(status=VoucherStatus.REVOKED)  # no invalidation
    response = await verify(client, c, terminal, code)
    assert response.status == 403, response.text
    assert response.json["error"]["code"] == "VOUCHER_REVOKED"
    assert await VoucherUse.filter(voucher_id=vid).count() == 1


async def test_one_code_twice_in_one_batch_is_recorded_once(c, client, one_batch):
    """Within one batch (Redis lost, both scans reached the database together): one use."""
    [(_, vid)] = await _holders(c, client, 1)
    terminal = await make_terminal(c)
    today = local_today(c.clock)
    request = UseRequest(
        vid,
        "samecodejti",
        terminal.identity,
        "02121",
        c.clock.now(),
        today.year,
        today,
        timedelta(minutes=30),
        None,
    )
    batcher = one_batch(2)
    outcomes = await asyncio.gather(
        batcher.submit(request), batcher.submit(request), return_exceptions=True
    )
    recorded = [o for o in outcomes if isinstance(o, use_log.Recorded)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(recorded) == 1 and len(refused) == 1
    assert getattr(refused[0], "code", None) == "VOUCHER_CODE_USED"
    assert await VoucherUse.filter(voucher_id=vid).count() == 1
