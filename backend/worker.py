"""``yibao worker``: a SAQ worker process running the periodic jobs as cron jobs and the
on-demand jobs (``backend.jobs``) against one container from ``backend.bootstrap``."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from saq import CronJob

from backend import db
from backend.bootstrap import bootstrap
from backend.infra.jobqueue import saq_function, saq_queue
from backend.jobs import PERIODIC, PeriodicJob, on_demand_jobs
from config.settings import Settings

log = logging.getLogger("yibao.jobs")
STOP_S = 8.0  # SIGTERM to exit: under 10 s, a running job included
SWEEP_S = 5


def cron_function(job: PeriodicJob) -> Callable[..., Awaitable[Any]]:
    async def run(ctx: dict[str, Any]) -> Any:
        started = time.monotonic()
        try:
            result = await job.run(ctx["container"])
        except Exception:
            log.exception("cron %s failed after %.2f s", job.name, time.monotonic() - started)
            raise
        log.info("cron %s done in %.2f s: %s", job.name, time.monotonic() - started, result)
        return result

    run.__name__ = run.__qualname__ = job.name  # SAQ finds functions by name
    return run


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings()
    container = bootstrap(settings)
    await db.init_db(settings.resolved_database_url)
    await container.start()
    ctx["container"] = container
    # the OCR engine is loaded once per worker process and stays warm for every job
    from ocr.pipeline import warm_up

    await asyncio.to_thread(warm_up, settings.ocr_engine)


async def shutdown(ctx: dict[str, Any]) -> None:
    # A job's OCR thread cannot be cancelled, and the interpreter would wait for it at exit:
    # whatever is left after STOP_S ends with the process (SAQ retries the job elsewhere).
    threading.Timer(STOP_S, _exit_now).start()
    log.info("worker stopping")
    container = ctx.get("container")
    if container is not None:
        await container.stop()
    await db.close_db()


def _exit_now() -> None:
    log.warning("worker: jobs still running after %.0f s; exiting anyway", STOP_S)
    logging.shutdown()
    os._exit(0)


def build_settings(redis_url: str) -> dict[str, Any]:
    functions = {job.name: cron_function(job) for job in PERIODIC}
    on_demand = [saq_function(spec) for spec in on_demand_jobs(Settings())]
    return {
        "queue": saq_queue(redis_url),
        "functions": [*functions.values(), *on_demand],
        "cron_jobs": [
            CronJob(functions[job.name], cron=job.cron, timeout=job.timeout_s) for job in PERIODIC
        ],
        "startup": startup,
        "shutdown": shutdown,
        "concurrency": 4,
        # Look for jobs of a dead worker (no heartbeat for HEARTBEAT_S) every few seconds.
        "timers": {"sweep": SWEEP_S},
    }


def run_worker(redis_url: str) -> int:
    """``yibao worker``: SAQ handles SIGTERM and SIGINT (stop taking jobs, cancel the running
    ones, run :func:`shutdown`); the process is gone within STOP_S + a second."""
    from saq.worker import Worker

    worker = Worker(**build_settings(redis_url))

    async def run() -> None:
        log.info("worker starting (pid %d)", os.getpid())
        try:
            await worker.queue.connect()
            await worker.start()
        finally:
            await worker.queue.disconnect()
            log.info("worker stopped")

    asyncio.run(run())
    return 0
