"""Losing everything in the key-value store, as a Redis restart without persistence does."""

from __future__ import annotations

from backend.container import Container
from backend.infra.kv import RedisStore


async def forget_everything(c: Container) -> None:
    """Empty this test's key-value store: its Redis key prefix, or the in-process store."""
    if isinstance(c.kv, RedisStore):
        await c.kv.flush_prefix()
    else:
        await c.kv.close()  # the in-process store forgets everything it held
