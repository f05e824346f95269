"""A per-process cache kept coherent across processes by broadcast invalidation.

Hot reads that every request makes (is this session revoked? who is this account?) are served
from memory; a change anywhere publishes the key, and every process drops it. While the
invalidation feed is down — not yet subscribed, or Redis lost — the cache serves nothing from
memory and every read goes to the source, so a missed message can never serve stale data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend.infra.kv import KeyValueStore
from backend.infra.loops import cancel_and_wait

log = logging.getLogger("yibao.cache")

T = TypeVar("T")
CHANNEL = "cache-invalidation"


class SharedCache:
    def __init__(self, kv: KeyValueStore, *, ttl_s: float = 30.0, max_entries: int = 50_000):
        self._kv = kv
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._epoch = 0  # bumped by every invalidation, so a load racing one is not stored
        self._live = False
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # Loads in flight by (key, epoch): concurrent misses of one key share one read of the
        # source (when a hot entry expires, 32 requests at once must not all go to the database).
        self._flights: dict[tuple[str, int], asyncio.Task[Any]] = {}

    @property
    def live(self) -> bool:
        return self._live

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        found, value = self._held(key)
        if found:
            return value
        epoch = self._epoch
        flight = self._flights.get((key, epoch))
        if flight is None:
            flight = self._flights[(key, epoch)] = asyncio.ensure_future(load())
            flight.add_done_callback(lambda done: self._landed(key, epoch, done))
        # Shielded: one waiter's cancellation (a client gone) does not cancel the others' load.
        return await asyncio.shield(flight)

    def _landed(self, key: str, epoch: int, flight: asyncio.Task[Any]) -> None:
        del self._flights[(key, epoch)]
        if not flight.cancelled() and flight.exception() is None:
            self.put(key, flight.result(), read_at_epoch=epoch)

    @property
    def epoch(self) -> int:
        """Changes with every invalidation: take it before reading the source, then
        :meth:`put` stores what was read only if nothing was invalidated meanwhile."""
        return self._epoch

    def peek(self, key: str) -> Any | None:
        """The value held for ``key``, or None (never loads)."""
        return self._held(key)[1]

    def _held(self, key: str) -> tuple[bool, Any]:
        if not self._live:
            return False, None
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    def put(self, key: str, value: Any, *, read_at_epoch: int) -> None:
        """Hold ``value``, read from the source after :attr:`epoch` was ``read_at_epoch``."""
        if self._live and read_at_epoch == self._epoch:
            self._entries[key] = (time.monotonic() + self._ttl_s, value)
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)

    async def invalidate(self, key: str) -> None:
        """Call after the source has changed: drops ``key`` here and in every process."""
        self._drop(key)
        await self._kv.publish(CHANNEL, key)

    def _drop(self, key: str) -> None:
        self._epoch += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything held in this process (tests, and after a bulk change)."""
        self._epoch += 1
        self._entries.clear()

    def _go_dark(self) -> None:
        self._live = False
        self._epoch += 1
        self._entries.clear()

    async def _follow(self) -> None:
        backoff = 0.1
        while True:
            try:
                async for key in self._kv.subscribe(CHANNEL):
                    if key is None:
                        self._live, backoff = True, 0.1
                        self._ready.set()
                    else:
                        self._drop(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._live:  # once per outage, not once per reconnection attempt
                    log.warning("cache invalidation feed lost; reading through until it is back")
            self._go_dark()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def start(self, wait_s: float = 2.0) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), wait_s)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._go_dark()
        self._ready.clear()
