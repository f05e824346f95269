"""The small key-value interface behind caching, rate limits, replay guards and locks.

Two implementations with the same semantics: :class:`RedisStore` (``redis.asyncio``) for
production and several workers, and :class:`MemoryStore` for the embedded default, which is
correct only inside one process. The in-process store expires keys by the container's clock, so
a test moves that clock past a time to live instead of sleeping; Redis expires them by its own.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from redis import asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from backend.clock import Clock
from backend.infra.outage import OUTAGES, REDIS


class LockNotAcquired(Exception):
    pass


class KeyValueStore(Protocol):
    # Whether publish() reaches other processes (Redis) or only this one (the in-process twin)
    reaches_other_processes: bool

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_s: float) -> None: ...
    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        """Set only if absent (one-time keys, nonces); True when this call set it."""
        ...

    async def hit(self, key: str, window_s: int, now: float) -> int:
        """Count one event in the fixed window that holds ``now`` (epoch seconds, from the
        injected clock, never the wall clock: a window edge must not depend on when the
        process happens to run) and return the count so far in that window."""
        ...

    async def delete(self, key: str) -> None: ...
    async def release_if_owner(self, key: str, token: str) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> AsyncIterator[str | None]:
        """Messages published on ``channel``; first yields None once subscribed."""
        ...

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


@asynccontextmanager
async def hold_lock(store: KeyValueStore, name: str, ttl_s: float) -> AsyncIterator[None]:
    """A lease lock: raises :class:`LockNotAcquired` when someone else holds ``name``."""
    token = secrets.token_hex(16)
    key = f"lock:{name}"
    if not await store.add(key, token, ttl_s):
        raise LockNotAcquired(name)
    try:
        yield
    finally:
        await store.release_if_owner(key, token)


class MemoryStore:
    # Its publish reaches this process only (the embedded default: a CLI command runs apart)
    reaches_other_processes = False

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}  # key -> (value, expiry in epoch seconds)
        self._mutex = asyncio.Lock()
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self._now():
            del self._data[key]
            return None
        return item[0]

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        self._data[key] = (value, self._now() + ttl_s)

    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        async with self._mutex:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._now() + ttl_s)
            return True

    async def hit(self, key: str, window_s: int, now: float) -> int:
        async with self._mutex:
            bucket = f"{key}:{int(now) // window_s}"
            current = self._live(bucket)
            count = int(current or 0) + 1
            expires = self._data[bucket][1] if current else self._now() + window_s
            self._data[bucket] = (str(count), expires)
            return count

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def release_if_owner(self, key: str, token: str) -> None:
        async with self._mutex:
            if self._live(key) == token:
                del self._data[key]

    async def publish(self, channel: str, message: str) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[str | None]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield None
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].discard(queue)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


P = ParamSpec("P")
R = TypeVar("R")


def _tracked(method: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Report Redis being unreachable (once per outage) and being back."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = await method(*args, **kwargs)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            OUTAGES.failed(REDIS, exc)
            raise
        if OUTAGES.is_down(REDIS):
            OUTAGES.recovered(REDIS)
        return result

    return call


def redis_client(url: str, **options: Any) -> aioredis.Redis:
    """A client that fails fast while Redis is down (1 s to connect) and retries a command
    once, at once, on a connection error: after a Redis restart every pooled connection is
    dead, and the retry takes a fresh one instead of failing the first use of each."""
    return aioredis.from_url(
        url,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[redis_errors.ConnectionError, redis_errors.TimeoutError],
        **options,
    )


class RedisStore:
    reaches_other_processes = True

    def __init__(self, url: str, prefix: str = "yibao:") -> None:
        self._redis = redis_client(url, decode_responses=True)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    @_tracked
    async def get(self, key: str) -> str | None:
        return cast("str | None", await self._redis.get(self._k(key)))  # decode_responses

    @_tracked
    async def set(self, key: str, value: str, ttl_s: float) -> None:
        await self._redis.set(self._k(key), value, px=max(1, int(ttl_s * 1000)))

    @_tracked
    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        return bool(
            await self._redis.set(self._k(key), value, px=max(1, int(ttl_s * 1000)), nx=True)
        )

    @_tracked
    async def hit(self, key: str, window_s: int, now: float) -> int:
        bucket = self._k(f"{key}:{int(now) // window_s}")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(bucket)
            pipe.expire(bucket, window_s, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    @_tracked
    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    @_tracked
    async def release_if_owner(self, key: str, token: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._k(key), token)

    @_tracked
    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._k(channel), message)

    async def subscribe(self, channel: str) -> AsyncIterator[str | None]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._k(channel))
            yield None
            async for message in pubsub.listen():
                if message["type"] == "message":
                    yield message["data"]
        finally:
            await pubsub.aclose()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def flush_prefix(self) -> None:
        """Delete every key under this store's prefix (tests and demo resets)."""
        async for key in self._redis.scan_iter(match=self._prefix + "*", count=500):
            await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


def open_store(redis_url: str | None, clock: Clock, prefix: str = "yibao:") -> KeyValueStore:
    """Redis when ``redis_url`` is set, else the in-process store on ``clock``."""
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore(clock)
