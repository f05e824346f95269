"""On-demand background jobs: ``await c.jobs.enqueue("ocr_invoice", invoice_id=42)``.

A job is a :class:`JobSpec`: a coroutine ``run(c, **kwargs)``, how many attempts it gets, a
timeout per attempt, the delay before a retry, and ``on_give_up(c, error, **kwargs)`` called once
when the last attempt failed, so the domain can record the failure (e.g. an invoice goes to
manual entry) instead of losing the work. The queue is handed its specs (``backend.bootstrap``
passes ``backend.jobs.on_demand_jobs``); it imports nothing of the application.

Two adapters with the same semantics:

- :class:`SaqJobQueue` (production, when ``redis_url`` is set): the job is put on the SAQ queue
  and ``yibao worker`` processes run it. SAQ counts the attempts and schedules the retries;
  the function SAQ runs (:func:`saq_function`) applies the timeout itself, so a timed-out
  attempt is an ordinary failure and the give-up hook still runs after the last one.
- :class:`InProcessJobQueue` (the embedded default and the tests): an asyncio task per job in
  the web process, with a concurrency limit. ``await queue.drain()`` waits until every job
  enqueued so far, retries included, has finished: tests wait for that, not for a sleep.

Both are "at least once": run functions must be idempotent. Enqueue *after* the transaction
that created the work commits; if the process dies first, the domain's periodic recovery pass
(for OCR: ``resume_stalled_ocr``) enqueues it again.

A timed-out attempt that runs in a worker thread (``asyncio.to_thread``) cannot be killed: its
result is discarded and the thread finishes on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from backend.container import Container
    from config.settings import Settings

log = logging.getLogger("yibao.jobqueue")
QUEUE_NAME = "yibao"
HEARTBEAT_S = 10


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: Callable[..., Awaitable[Any]]  # run(c, **kwargs)
    attempts: int = 3  # in total, the first one included
    timeout_s: float = 60.0  # per attempt
    retry_delay_s: float = 2.0  # doubled after each failed attempt
    on_give_up: Callable[..., Awaitable[None]] | None = None  # on_give_up(c, error, **kwargs)


Specs = Mapping[str, JobSpec]  # by name


class UnknownJob(KeyError):
    pass


class JobQueue(Protocol):
    async def enqueue(self, job_name: str, **kwargs: Any) -> None: ...

    async def close(self) -> None: ...


async def run_attempt(c: Container, spec: JobSpec, kwargs: Mapping[str, Any]) -> Any:
    """One attempt with the spec's timeout (a timeout raises :class:`TimeoutError`)."""
    return await asyncio.wait_for(spec.run(c, **kwargs), spec.timeout_s)


async def give_up(c: Container, spec: JobSpec, error: BaseException, kwargs: Mapping[str, Any]):
    log.warning("job %s gave up after %d attempts: %s", spec.name, spec.attempts, type(error))
    if spec.on_give_up is None:
        return
    try:
        await spec.on_give_up(c, error, **kwargs)
    except Exception:
        log.exception("job %s: on_give_up failed", spec.name)


class InProcessJobQueue:
    """Runs jobs as asyncio tasks of this process. Attach the container before enqueuing."""

    def __init__(self, specs: Specs | None = None, *, concurrency: int = 2) -> None:
        self._specs = dict(specs or {})
        self._extra: dict[str, JobSpec] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(concurrency)
        self._c: Container | None = None
        self.delay_scale = 1.0  # tests set 0: retries without waiting

    def attach(self, c: Container) -> None:
        self._c = c

    def register(self, spec: JobSpec) -> None:
        """An extra spec (tests); the specs given at construction stay as they are."""
        self._extra[spec.name] = spec

    def unregister(self, name: str) -> None:
        self._extra.pop(name, None)

    def spec(self, name: str) -> JobSpec:
        spec = self._extra.get(name) or self._specs.get(name)
        if spec is None:
            raise UnknownJob(name)
        return spec

    async def enqueue(self, job_name: str, **kwargs: Any) -> None:
        spec = self.spec(job_name)
        if self._c is None:
            raise RuntimeError("InProcessJobQueue.attach(container) was not called")
        task = asyncio.get_running_loop().create_task(self._run(self._c, spec, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, c: Container, spec: JobSpec, kwargs: dict[str, Any]) -> None:
        delay = spec.retry_delay_s
        for attempt in range(1, spec.attempts + 1):
            try:
                async with self._limit:
                    await run_attempt(c, spec, {**kwargs, "attempt": attempt})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt >= spec.attempts:
                    await give_up(c, spec, exc, kwargs)
                    return
                log.info("job %s attempt %d failed (%s); retrying", spec.name, attempt, type(exc))
                await asyncio.sleep(delay * self.delay_scale)
                delay *= 2

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every job enqueued so far (and any it enqueued) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def saq_queue(redis_url: str) -> Any:
    """The SAQ queue on a client that retries a command once on a stale connection, sweeping
    the jobs of dead workers every few seconds (SAQ's default lets one sweep a minute)."""
    from saq.queue.redis import RedisQueue

    from backend.infra.kv import redis_client

    class Queue(RedisQueue):
        async def sweep(self, lock: int = 4, abort: float = 2.0) -> list[str]:
            return await super().sweep(lock, abort)

    return Queue(redis_client(redis_url), name=QUEUE_NAME)


class SaqJobQueue:
    """Enqueues on SAQ (Redis); ``yibao worker`` runs the jobs (see ``backend.jobs``)."""

    def __init__(self, redis_url: str, specs: Specs) -> None:
        self._queue = saq_queue(redis_url)
        self._specs = dict(specs)
        self._connected = False

    async def enqueue(self, job_name: str, **kwargs: Any) -> None:
        spec = self._specs.get(job_name)
        if spec is None:
            raise UnknownJob(job_name)
        if not self._connected:
            await self._queue.connect()
            self._connected = True
        await self._queue.enqueue(
            spec.name,
            retries=spec.attempts,
            retry_delay=spec.retry_delay_s,
            retry_backoff=True,
            # SAQ's own limit is only a backstop: saq_function applies spec.timeout_s itself.
            timeout=int(spec.timeout_s) + 30,
            # A job whose worker died (no heartbeat) is swept and retried within seconds.
            heartbeat=HEARTBEAT_S,
            **kwargs,
        )

    async def close(self) -> None:
        if self._connected:
            await self._queue.disconnect()
            self._connected = False


async def _heartbeat(job: Any) -> None:
    """Touch the running job, so a sweep can tell it from the job of a dead worker."""
    while True:
        await asyncio.sleep(HEARTBEAT_S / 3)
        try:
            await job.update()
        except Exception:  # Redis away for a moment: the next beat tries again
            log.info("heartbeat of job %s failed", getattr(job, "key", "?"))


def saq_function(spec: JobSpec) -> Callable[..., Awaitable[Any]]:
    """The function a SAQ worker runs for ``spec``: timeout, then give-up on the last attempt."""

    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx.get("job")
        attempt = getattr(job, "attempts", 1) or 1
        beat = asyncio.create_task(_heartbeat(job)) if job is not None else None
        try:
            return await run_attempt(ctx["container"], spec, {**kwargs, "attempt": attempt})
        except Exception as exc:
            if attempt >= spec.attempts:
                await give_up(ctx["container"], spec, exc, kwargs)
            raise
        finally:
            if beat is not None:
                beat.cancel()

    run.__name__ = run.__qualname__ = spec.name  # SAQ finds functions by name
    return run


def open_job_queue(settings: Settings, specs: Iterable[JobSpec]) -> JobQueue:
    by_name = {spec.name: spec for spec in specs}
    if settings.redis_url:
        return SaqJobQueue(settings.redis_url, by_name)
    return InProcessJobQueue(by_name)
