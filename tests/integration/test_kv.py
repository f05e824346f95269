"""The key-value store behaves the same in-process and on Redis (the stack decides which)."""

import asyncio
import uuid

import pytest

from backend.infra.kv import LockNotAcquired, RedisStore, hold_lock, redis_client
from tests.conftest import REDIS_URL


async def test_add_is_set_if_absent(c):
    assert await c.kv.add("nonce:a", "1", 10)
    assert not await c.kv.add("nonce:a", "2", 10)
    assert await c.kv.get("nonce:a") == "1"


async def test_only_one_of_many_concurrent_adds_wins(c):
    results = await asyncio.gather(*(c.kv.add("once:x", str(i), 10) for i in range(20)))
    assert results.count(True) == 1


async def test_values_expire_by_the_injected_clock(c, clock):
    """In process, a value lives until the container's clock passes its time to live: the test
    moves the clock instead of sleeping."""
    if isinstance(c.kv, RedisStore):
        pytest.skip("Redis expires keys by its own clock (next test)")
    await c.kv.set("short", "v", 5)
    await c.kv.add("once", "v", 5)
    clock.advance(seconds=4.9)
    assert await c.kv.get("short") == "v" and await c.kv.get("once") == "v"
    clock.advance(seconds=0.2)
    assert await c.kv.get("short") is None and await c.kv.get("once") is None
    assert await c.kv.add("short", "again", 10)


async def test_redis_is_given_each_values_time_to_live(c):
    """Redis expires keys itself; what the store owes it is each value's time to live."""
    if not isinstance(c.kv, RedisStore):
        pytest.skip("the in-process store expires by the injected clock (test above)")
    prefix = f"yibao-test-ttl-{uuid.uuid4().hex[:8]}:"
    store, raw = RedisStore(REDIS_URL, prefix), redis_client(REDIS_URL)
    try:
        await store.set("short", "v", 5)
        await store.add("once", "v", 0.5)
        assert 4000 < await raw.pttl(f"{prefix}short") <= 5000
        assert 0 < await raw.pttl(f"{prefix}once") <= 500
    finally:
        await store.flush_prefix()
        await store.close()
        await raw.aclose()


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
