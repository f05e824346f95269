"""Background passes that every long-running process runs (the audit sealer, the outbox
relay): a pass every ``interval_s``, at once again while a pass reports more work, and a
failing pass logged once until one succeeds (an outage is not a log line a second)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from backend.infra.outage import OUTAGES, unavailable_dependency

log = logging.getLogger("yibao.loops")


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has finished."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RepeatingPass:
    def __init__(self, name: str, work: Callable[[], Awaitable[bool]], interval_s: float):
        """``work()`` runs one pass and returns True when there is more to do right away."""
        self.name = name
        self._work = work
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        failing: str | None = None  # what the failing passes were blamed on
        while True:
            more = False
            try:
                more = await self._work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                dependency = unavailable_dependency(exc)
                if dependency is not None:
                    OUTAGES.failed(dependency, exc)
                elif failing is None:
                    log.exception("%s: pass failed; retrying", self.name)
                failing = dependency or "error"
            else:
                if failing is not None:
                    log.warning("%s: working again", self.name)
                    OUTAGES.recovered(failing)
                    failing = None
            if not more:
                await asyncio.sleep(self._interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
