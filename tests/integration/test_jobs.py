"""The periodic-job registry: the same jobs for the SAQ worker and the in-process timer."""

import asyncio

from backend.jobs import PERIODIC, InProcessScheduler, PeriodicJob, build_settings, on_demand_jobs


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
    assert names == periodic | {spec.name for spec in on_demand_jobs()}
    assert {cron.function.__name__ for cron in settings["cron_jobs"]} == periodic
