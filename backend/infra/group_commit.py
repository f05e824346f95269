"""Group commit: concurrent requests of one process share one transaction for their writes.

A hot append-only write (a voucher use, a terminal nonce) costs one durable commit per request
when each request commits its own row. :class:`GroupCommit` collects the items submitted
within a short window (or until ``max_batch`` are waiting), hands them to ``flush`` in one call,
and answers each submitter with its own outcome once ``flush`` has returned:

- ``flush(items)`` writes the whole batch in ONE transaction and returns one outcome per item,
  in order. An outcome that is an exception instance fails only its own submitter (a unique-key
  conflict, typically ``INSERT ... ON CONFLICT DO NOTHING RETURNING``); anything else is that
  submitter's result.
- If ``flush`` raises, the transaction is rolled back and every submitter of the batch gets the
  exception: nothing of the batch is recorded, nobody is told it was.
- Nothing is answered before ``flush`` returns, i.e. before the commit: an answer is never
  ahead of the durable state. A process killed mid-batch answered nobody of that batch.

Batches flush at most ``max_in_flight`` at a time (each holds one pooled connection); items that
arrive meanwhile wait for the next batch, so batches grow with the load by themselves. A
submitter that is cancelled (the client went away) stays in its batch: its write happens, its
answer is dropped. :meth:`drain` flushes what is waiting (graceful shutdown).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("yibao.group_commit")

I = TypeVar("I")  # noqa: E741 - the item type
O = TypeVar("O")  # noqa: E741 - the outcome type

Flush = Callable[[Sequence[I]], Awaitable[Sequence[O | BaseException]]]


class GroupCommit(Generic[I, O]):
    def __init__(
        self,
        name: str,
        flush: Flush[I, O],
        *,
        window_s: float = 0.001,
        max_batch: int = 128,
        max_in_flight: int = 2,
    ) -> None:
        self.name = name
        self._flush = flush
        self._window_s = window_s
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[I, asyncio.Future[O]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._window_over = False

    async def submit(self, item: I) -> O:
        """Write ``item`` with the next batch; its outcome once the batch is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[O] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_batch:
            self._window_over = True
            self._launch()
        elif self._timer is None and not self._window_over:
            self._timer = loop.call_later(self._window_s, self._window_elapsed)
        return await future

    def _window_elapsed(self) -> None:
        self._timer = None
        self._window_over = True
        self._launch()

    def _launch(self) -> None:
        """Start batches while there is something whose window is over and room in flight."""
        while self._pending and self._window_over and len(self._in_flight) < self._max_in_flight:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        if not self._pending:
            self._window_over = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        # What arrived during the flush has waited at least as long as a window.
        if self._pending:
            self._window_over = True
        self._launch()

    async def _run(self, batch: list[tuple[I, asyncio.Future[O]]]) -> None:
        items = [item for item, _ in batch]
        try:
            outcomes = await self._flush(items)
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{self.name}: {len(outcomes)} outcomes for {len(batch)}")
        except BaseException as exc:  # cancelled (shutdown) included: nobody is left waiting
            log.warning("%s: batch of %d failed: %r", self.name, len(batch), exc)
            failure = exc if isinstance(exc, Exception) else RuntimeError(f"{self.name}: {exc!r}")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the submitter was cancelled: written, not answered
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def drain(self) -> None:
        """Flush everything waiting now and wait for every batch in flight."""
        self._window_over = True
        self._launch()
        while self._in_flight or self._pending:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            self._window_over = True
            self._launch()
