"""The key-value store behaves the same in-process and on Redis (the stack decides which)."""

import asyncio

import pytest

from backend.infra.kv import LockNotAcquired, hold_lock


async def test_add_is_set_if_absent(c):
    assert await c.kv.add("nonce:a", "1", 10)
    assert not await c.kv.add("nonce:a", "2", 10)
    assert await c.kv.get("nonce:a") == "1"


async def test_only_one_of_many_concurrent_adds_wins(c):
    results = await asyncio.gather(*(c.kv.add("once:x", str(i), 10) for i in range(20)))
    assert results.count(True) == 1


async def test_values_expire(c):
    await c.kv.set("short", "v", 0.05)
    await asyncio.sleep(0.1)
    assert await c.kv.get("short") is None
    assert await c.kv.add("short", "again", 10)


async def test_hit_counts_within_a_window_of_the_given_time(c):
    start = 1_800_000_000.0  # a window edge: 1_800_000_000 is a multiple of 60
    counts = [await c.kv.hit("rate:login:u1", 60, start + s) for s in (0, 30, 59)]
    assert counts == [1, 2, 3]
    assert await c.kv.hit("rate:login:u2", 60, start) == 1
    # The next window starts by the given time, whatever the wall clock says.
    assert await c.kv.hit("rate:login:u1", 60, start + 60) == 1


async def test_lock_admits_one_holder_and_releases(c):
    async with hold_lock(c.kv, "sweeper", 5):
        with pytest.raises(LockNotAcquired):
            async with hold_lock(c.kv, "sweeper", 5):
                pass
    async with hold_lock(c.kv, "sweeper", 5):
        pass


async def test_release_does_not_free_someone_elses_lock(c):
    await c.kv.set("lock:job", "other-owner", 5)
    await c.kv.release_if_owner("lock:job", "me")
    assert await c.kv.get("lock:job") == "other-owner"
