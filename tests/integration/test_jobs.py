"""The periodic-job registry: the same jobs for the SAQ worker and the in-process timer."""

import asyncio
import logging

import pytest

from backend.jobs import PERIODIC, InProcessScheduler, PeriodicJob, on_demand_jobs
from backend.worker import build_settings, cron_function
from config.settings import Settings


async def test_in_process_timer_keeps_running_after_a_failed_pass(c):
    passes: list[int] = []

    async def flaky(container):
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("first pass fails")

    scheduler = InProcessScheduler(c, (PeriodicJob("flaky", flaky, interval_s=0.01),))
    scheduler.start()
    try:
        for _ in range(200):
            if len(passes) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
    assert len(passes) >= 3


async def test_periodic_jobs_run_against_an_empty_database(c):
    for job in PERIODIC:  # each pass must be harmless when there is nothing to do
        await job.run(c)


def test_every_periodic_job_is_a_saq_cron_job():
    settings = build_settings("redis://127.0.0.1:6379/0")
    names = {f.__name__ for f in settings["functions"]}
    periodic = {job.name for job in PERIODIC}
    assert names == periodic | {spec.name for spec in on_demand_jobs(Settings())}
    assert {cron.function.__name__ for cron in settings["cron_jobs"]} == periodic


async def test_every_cron_run_is_logged_with_its_result(c, caplog):
    async def fine(container):
        return {"closed": 2}

    async def broken(container):
        raise RuntimeError("gateway down")

    caplog.set_level(logging.INFO, logger="yibao.jobs")
    assert await cron_function(PeriodicJob("fine", fine, 60))({"container": c}) == {"closed": 2}
    with pytest.raises(RuntimeError):
        await cron_function(PeriodicJob("broken", broken, 60))({"container": c})
    lines = [r.getMessage() for r in caplog.records if r.name == "yibao.jobs"]
    assert any(line.startswith("cron fine done in") and "{'closed': 2}" in line for line in lines)
    assert any(line.startswith("cron broken failed after") for line in lines)
