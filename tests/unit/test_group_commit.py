"""The group-commit batcher on its own (``backend.infra.group_commit``), with an in-memory
"table": who is answered what, and when."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from backend.infra.group_commit import GroupCommit


class Table:
    """A unique-keyed table whose writes are all-or-nothing per batch."""

    def __init__(self) -> None:
        self.rows: set[str] = set()
        self.batches: list[list[str]] = []
        self.fail_next = False

    async def flush(self, keys: Sequence[str]) -> list[str | BaseException]:
        await asyncio.sleep(0.001)  # the round trip
        self.batches.append(list(keys))
        if self.fail_next:
            self.fail_next = False
            raise OSError("connection lost")
        outcomes: list[str | BaseException] = []
        added: set[str] = set()
        for key in keys:
            if key in self.rows or key in added:
                outcomes.append(KeyError(key))
            else:
                added.add(key)
                outcomes.append(f"row:{key}")
        self.rows |= added
        return outcomes


async def test_concurrent_writes_share_batches_and_each_gets_its_own_outcome():
    table = Table()
    batcher = GroupCommit("t", table.flush, window_s=0.01, max_batch=8, max_in_flight=1)
    keys = [f"k{i}" for i in range(20)] + ["k3"]
    outcomes = await asyncio.gather(*(batcher.submit(k) for k in keys), return_exceptions=True)
    assert outcomes[:20] == [f"row:k{i}" for i in range(20)]
    assert isinstance(outcomes[20], KeyError)  # only the duplicate fails
    assert len(table.batches) == 3 and max(map(len, table.batches)) == 8


async def test_a_failed_batch_fails_every_submitter_and_the_next_batch_goes_on():
    table = Table()
    batcher = GroupCommit("t", table.flush, window_s=0.01, max_batch=3)
    table.fail_next = True
    outcomes = await asyncio.gather(*(batcher.submit(k) for k in "abc"), return_exceptions=True)
    assert all(isinstance(o, OSError) for o in outcomes)
    assert table.rows == set()
    assert await batcher.submit("a") == "row:a"


async def test_nobody_is_answered_before_the_flush_returns():
    release = asyncio.Event()

    async def slow(keys: Sequence[str]) -> list[str]:
        await release.wait()
        return list(keys)

    batcher = GroupCommit("t", slow, window_s=0.001)
    pending = asyncio.ensure_future(batcher.submit("x"))
    await asyncio.sleep(0.05)
    assert not pending.done()
    release.set()
    assert await pending == "x"


async def test_drain_flushes_what_waits():
    table = Table()
    batcher = GroupCommit("t", table.flush, window_s=60)
    pending = asyncio.ensure_future(batcher.submit("late"))
    await asyncio.sleep(0)
    await batcher.drain()
    assert pending.done() and pending.result() == "row:late"


async def test_a_cancelled_flush_leaves_nobody_waiting():
    async def cancelled(keys: Sequence[str]) -> list[str]:
        raise asyncio.CancelledError  # as a shutdown cancels the flush mid-statement

    batcher = GroupCommit("t", cancelled, window_s=0.001)
    with pytest.raises(RuntimeError):
        await batcher.submit("x")
