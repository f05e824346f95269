"""The per-process cache stays coherent across processes through broadcast invalidation.

Two SharedCache objects on the same store play two web workers."""

import asyncio

from backend.infra.shared_cache import SharedCache


class Source:
    def __init__(self) -> None:
        self.value = "v1"
        self.loads = 0

    async def load(self) -> str:
        self.loads += 1
        return self.value


async def _eventually(predicate, timeout_s: float = 2.0) -> bool:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_reads_are_served_from_memory_once_live(c):
    cache = SharedCache(c.kv)
    await cache.start()
    try:
        source = Source()
        assert await cache.get_or_load("k", source.load) == "v1"
        assert await cache.get_or_load("k", source.load) == "v1"
        assert source.loads == 1
    finally:
        await cache.stop()


async def test_invalidation_in_one_process_reaches_the_other(c):
    worker_a, worker_b = SharedCache(c.kv), SharedCache(c.kv)
    await worker_a.start()
    await worker_b.start()
    try:
        source = Source()
        assert await worker_a.get_or_load("profile:1", source.load) == "v1"
        source.value = "v2"
        await worker_b.invalidate("profile:1")
        assert await _eventually(lambda: "profile:1" not in worker_a._entries)
        assert await worker_a.get_or_load("profile:1", source.load) == "v2"
    finally:
        await worker_a.stop()
        await worker_b.stop()


async def test_without_the_feed_nothing_is_served_from_memory(c):
    cache = SharedCache(c.kv)  # never started: not subscribed, so it must not trust memory
    source = Source()
    await cache.get_or_load("k", source.load)
    source.value = "v2"
    assert await cache.get_or_load("k", source.load) == "v2"
    assert source.loads == 2


async def test_a_load_racing_an_invalidation_is_not_kept(c):
    cache = SharedCache(c.kv)
    await cache.start()
    try:
        source = Source()
        gate, started = asyncio.Event(), asyncio.Event()

        async def slow_load() -> str:
            value = source.value
            started.set()
            await gate.wait()
            return value

        reader = asyncio.create_task(cache.get_or_load("k", slow_load))
        await started.wait()
        source.value = "v2"
        await cache.invalidate("k")
        gate.set()
        assert await reader == "v1"  # the racing reader may answer what it read...
        assert await cache.get_or_load("k", source.load) == "v2"  # ...but did not cache it
    finally:
        await cache.stop()


class SlowSource(Source):
    """A source whose reads wait until the test lets them finish."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def load(self) -> str:
        self.loads += 1
        value = self.value
        await self.release.wait()
        return value


async def test_concurrent_misses_share_one_read_of_the_source(c):
    cache = SharedCache(c.kv)
    await cache.start()
    try:
        source = SlowSource()
        readers = [asyncio.ensure_future(cache.get_or_load("k", source.load)) for _ in range(32)]
        await asyncio.sleep(0.01)
        source.release.set()
        assert await asyncio.gather(*readers) == ["v1"] * 32
        assert source.loads == 1  # an expired hot entry does not send 32 reads to the database
    finally:
        await cache.stop()


async def test_a_miss_after_an_invalidation_does_not_join_the_older_read(c):
    cache = SharedCache(c.kv)
    await cache.start()
    try:
        source = SlowSource()
        before = asyncio.ensure_future(cache.get_or_load("k", source.load))
        await asyncio.sleep(0.01)
        source.value = "v2"
        await cache.invalidate("k")
        after = asyncio.ensure_future(cache.get_or_load("k", source.load))
        await asyncio.sleep(0.01)
        source.release.set()
        assert await before == "v1"
        assert await after == "v2"  # its own read, begun after the change
        assert source.loads == 2
        assert await cache.get_or_load("k", source.load) == "v2"
    finally:
        await cache.stop()


async def test_one_reader_gone_does_not_cancel_the_others_read(c):
    cache = SharedCache(c.kv)
    await cache.start()
    try:
        source = SlowSource()
        gone = asyncio.ensure_future(cache.get_or_load("k", source.load))
        stays = asyncio.ensure_future(cache.get_or_load("k", source.load))
        await asyncio.sleep(0.01)
        gone.cancel()
        source.release.set()
        assert await stays == "v1"
        assert source.loads == 1
    finally:
        await cache.stop()
