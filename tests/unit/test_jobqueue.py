"""The in-process job queue: retries, timeouts, the give-up hook, draining; and the SAQ
function's attempt accounting (same semantics)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from backend.infra.jobqueue import InProcessJobQueue, JobSpec, UnknownJob, saq_function


def make_queue(*specs: JobSpec) -> InProcessJobQueue:
    q = InProcessJobQueue()
    for spec in specs:
        q.register(spec)
    q.attach(SimpleNamespace(name="container"))  # type: ignore[arg-type]
    q.delay_scale = 0
    return q


def flaky(failures: int, calls: list[dict[str, Any]]):
    async def run(c: Any, **kwargs: Any) -> str:
        calls.append(kwargs)
        if len(calls) <= failures:
            raise RuntimeError(f"failure {len(calls)}")
        return "ok"

    return run


async def test_a_job_that_fails_twice_then_succeeds_is_retried():
    calls: list[dict[str, Any]] = []
    gave_up: list[Any] = []

    async def on_give_up(c: Any, error: BaseException, **kw: Any) -> None:
        gave_up.append(error)

    q = make_queue(JobSpec("flaky", flaky(2, calls), attempts=3, on_give_up=on_give_up))
    await q.enqueue("flaky", item=7)
    await q.drain()
    assert [c["attempt"] for c in calls] == [1, 2, 3]
    assert all(c["item"] == 7 for c in calls)
    assert gave_up == [] and q.pending == 0


async def test_a_job_that_always_fails_gives_up_once_after_its_attempts():
    calls: list[dict[str, Any]] = []
    gave_up: list[tuple[str, dict[str, Any]]] = []

    async def on_give_up(c: Any, error: BaseException, **kw: Any) -> None:
        gave_up.append((str(error), kw))

    q = make_queue(JobSpec("broken", flaky(99, calls), attempts=4, on_give_up=on_give_up))
    await q.enqueue("broken", item=1)
    await q.drain()
    assert len(calls) == 4
    assert gave_up == [("failure 4", {"item": 1})]


async def test_a_timed_out_attempt_counts_as_a_failure():
    attempts: list[int] = []

    async def slow_then_fast(c: Any, *, attempt: int) -> None:
        attempts.append(attempt)
        if attempt == 1:
            await asyncio.sleep(5)

    q = make_queue(JobSpec("slow", slow_then_fast, attempts=2, timeout_s=0.05))
    await q.enqueue("slow")
    await asyncio.wait_for(q.drain(), 3)
    assert attempts == [1, 2]


async def test_unknown_job_is_refused_at_enqueue():
    with pytest.raises(UnknownJob):
        await make_queue().enqueue("nope")


async def test_saq_function_gives_up_only_on_the_last_attempt():
    gave_up: list[int] = []

    async def run(c: Any, **kw: Any) -> None:
        raise ValueError("no")

    async def on_give_up(c: Any, error: BaseException, **kw: Any) -> None:
        gave_up.append(kw["n"])

    fn = saq_function(JobSpec("x", run, attempts=3, on_give_up=on_give_up))
    assert fn.__name__ == "x"
    for attempt in (1, 2, 3):
        ctx = {"container": None, "job": SimpleNamespace(attempts=attempt)}
        with pytest.raises(ValueError):
            await fn(ctx, n=attempt)
    assert gave_up == [3]
