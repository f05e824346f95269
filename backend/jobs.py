"""Background jobs: the application's periodic jobs and on-demand job specifications, listed
in one place and handed to whatever runs them (``backend.bootstrap`` gives the on-demand specs
to the container's job queue). Periodic jobs run two ways:

- production: ``yibao worker`` processes (SAQ on Redis, any number of hosts, ``backend.worker``);
  each periodic job is a SAQ cron job, enqueued once per tick however many workers run;
- the embedded default (no Redis): :class:`InProcessScheduler`, started by the web process.

Every job is safe to run twice or concurrently (compare-and-set, row locks, lease locks), so a
slow pass overlapping the next tick, or two hosts, never do double work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backend.container import Container
from backend.infra.jobqueue import JobSpec
from config.settings import Settings

log = logging.getLogger("yibao.jobs")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Container], Awaitable[Any]]
    interval_s: float  # in-process period; SAQ uses the cron expression
    cron: str = "* * * * *"
    timeout_s: int = 300


async def _sweep_cases(c: Container) -> Any:
    from backend.cases.sweeper import sweep

    return vars(await sweep(c))


async def _expire_payment_orders(c: Container) -> Any:
    """Close expired unpaid premium orders (querying the gateway first), resubmit refunds."""
    from backend.payments.expiry import expire_orders

    return {"closed": await expire_orders(c)}


async def _clean_idempotency_records(c: Container) -> Any:
    from backend.idempotency.service import cleanup_expired

    return {"deleted": await cleanup_expired(c)}


async def _resume_stalled_ocr(c: Container) -> Any:
    """Re-enqueue invoice OCR that was lost (a process died, Redis was down at enqueue)."""
    from backend.claims.jobs import resume_stalled_ocr

    return {"resumed": await resume_stalled_ocr(c)}


async def _remind_chronic_renewals(c: Container) -> Any:
    """Remind holders of 门诊慢特病 qualifications before expiry; expire lapsed ones."""
    from backend.chronic.service import remind_renewals

    return await remind_renewals(c)


async def _expire_remote_care_filings(c: Container) -> Any:
    from backend.filings.service import expire_lapsed_filings

    return await expire_lapsed_filings(c)


async def _clean_terminal_nonces(c: Container) -> Any:
    """Forget terminal nonces whose requests are too old to be accepted anyway."""
    from backend.terminals.nonces import clean_expired

    return {"deleted": await clean_expired(c)}


PERIODIC: tuple[PeriodicJob, ...] = (
    PeriodicJob("sweep_cases", _sweep_cases, interval_s=60),
    PeriodicJob("resume_stalled_ocr", _resume_stalled_ocr, interval_s=300, cron="*/5 * * * *"),
    PeriodicJob("expire_payment_orders", _expire_payment_orders, interval_s=60),
    PeriodicJob("clean_idempotency_records", _clean_idempotency_records, 3600, cron="7 * * * *"),
    PeriodicJob("remind_chronic_renewals", _remind_chronic_renewals, 3600, cron="17 * * * *"),
    PeriodicJob("expire_remote_care_filings", _expire_remote_care_filings, 3600, cron="23 * * * *"),
    PeriodicJob("clean_terminal_nonces", _clean_terminal_nonces, interval_s=60),
)


def on_demand_jobs(settings: Settings) -> tuple[JobSpec, ...]:
    """Jobs enqueued on demand (``c.jobs.enqueue(name, **kwargs)``), for both queue adapters."""
    from backend.claims.jobs import ocr_job_spec

    return (ocr_job_spec(settings),)


class InProcessScheduler:
    """The embedded default's timer: each periodic job in its own task, one pass at a time."""

    def __init__(self, c: Container, jobs: tuple[PeriodicJob, ...] = PERIODIC) -> None:
        self._c = c
        self._jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.interval_s)
            try:
                result = await asyncio.wait_for(job.run(self._c), job.timeout_s)
                log.info("job %s: %s", job.name, result)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the timer
                log.exception("job %s failed", job.name)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._loop(job)) for job in self._jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
