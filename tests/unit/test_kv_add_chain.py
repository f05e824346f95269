"""``KeyValueStore.add_chain``: ordered set-if-absent, stopping at the first key present (both
stores, through the ``c`` fixture's store: in-process on SQLite, Redis on PostgreSQL)."""

from __future__ import annotations

import asyncio


async def test_all_absent_are_all_set(c):
    assert await c.kv.add_chain([("chain:a", "1", 30), ("chain:b", "2", 30)]) == 2
    assert await c.kv.get("chain:a") == "1"
    assert await c.kv.get("chain:b") == "2"


async def test_a_present_key_stops_the_chain_and_leaves_later_keys_untouched(c):
    await c.kv.set("chain:first", "x", 30)
    assert await c.kv.add_chain([("chain:first", "1", 30), ("chain:second", "2", 30)]) == 0
    assert await c.kv.get("chain:first") == "x"
    assert await c.kv.get("chain:second") is None  # not spent by the refused chain

    await c.kv.set("chain:later", "y", 30)
    assert await c.kv.add_chain([("chain:new", "1", 30), ("chain:later", "2", 30)]) == 1
    assert await c.kv.get("chain:new") == "1"
    assert await c.kv.get("chain:later") == "y"


async def test_ttls_apply(c):
    assert await c.kv.add_chain([("chain:short", "1", 0.05)]) == 1
    await asyncio.sleep(0.15)
    assert await c.kv.add_chain([("chain:short", "1", 30)]) == 1


async def test_racing_chains_set_each_key_once(c):
    chains = [
        c.kv.add_chain([(f"chain:n{i}", "1", 30), ("chain:one", str(i), 30)]) for i in range(20)
    ]
    results = await asyncio.gather(*chains)
    assert sorted(results) == [1] * 19 + [2]
