"""Jobs that matter are staged in the transaction that creates their work and relayed to the
queue afterwards: a rolled-back change stages nothing, and a job staged while Redis is down is
on the queue as soon as Redis is back."""

from __future__ import annotations

import dataclasses

import pytest
from saq import Queue
from tortoise.transactions import in_transaction

from backend.infra.jobqueue import QUEUE_NAME, JobSpec, SaqJobQueue
from backend.outbox import service as outbox
from backend.outbox.models import OutboxJob

RAN: list[int] = []


async def _note(c, *, n: int, attempt: int = 1) -> None:
    RAN.append(n)


SPEC = JobSpec(name="test_note", run=_note)


class Boom(Exception):
    pass


async def test_a_staged_job_runs_after_commit_and_a_rolled_back_one_never(c):
    c.jobs.register(SPEC)
    RAN.clear()
    try:
        with pytest.raises(Boom):
            async with in_transaction():
                await outbox.stage(c, "test_note", n=1)
                raise Boom
        async with in_transaction():
            staged = await outbox.stage(c, "test_note", n=2)
        await outbox.relay_now(c, staged)
        await c.jobs.drain()
    finally:
        c.jobs.unregister("test_note")
    assert RAN == [2]
    assert await OutboxJob.all().count() == 0


async def test_jobs_staged_while_redis_is_down_reach_the_queue_when_it_is_back(c, private_redis):
    jobs = SaqJobQueue(private_redis.url, {SPEC.name: SPEC})
    c_saq = dataclasses.replace(c, jobs=jobs)  # the same container, with the SAQ queue
    private_redis.stop()
    try:
        async with in_transaction():
            staged = await outbox.stage(c_saq, "test_note", n=3)
        await outbox.relay_now(c_saq, staged)  # the request that staged it does not fail
        async with in_transaction():
            await outbox.stage(c_saq, "test_note", n=4)
        assert await OutboxJob.all().count() == 2  # kept while the queue is unreachable

        private_redis.start()  # empty: whatever was queued before the outage is gone
        assert await outbox.relay_pass(c_saq) is False
        assert await OutboxJob.all().count() == 0
        queue = Queue.from_url(private_redis.url, name=QUEUE_NAME)
        try:
            assert await queue.count("queued") == 2
        finally:
            await queue.disconnect()
    finally:
        await jobs.close()
