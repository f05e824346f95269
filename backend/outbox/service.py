"""The job outbox: a job that matters (the OCR of an upload, a payout notice) is written as a
row in the same transaction as the work it is for, so the two commit or fail together; the
relay then moves it to the job queue (SAQ on Redis, or the in-process queue).

    async with in_transaction():
        inv = await ClaimInvoice.create(...)
        staged = await outbox.stage(c, "ocr_invoice", invoice_id=inv.id)
    await outbox.relay_now(c, staged)       # the usual path: on the queue at once

If the queue is unreachable (Redis down), the row stays and :func:`relay_loop` (every web
and job worker, once a second) moves it when Redis is back. A row is deleted only after its
job was enqueued, so a job is enqueued at least once (jobs are idempotent). Rows are claimed
with a lease in a short transaction (``SKIP LOCKED`` on PostgreSQL, so relays never wait for
each other) and enqueued outside it: no transaction is held open across a call to Redis, and
a job started in-process does not inherit the relay's transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.infra.loops import RepeatingPass
from backend.infra.outage import OUTAGES, unavailable_dependency
from backend.outbox.models import OutboxJob

if TYPE_CHECKING:
    from backend.container import Container

log = logging.getLogger("yibao.outbox")
BATCH = 200
LEASE_S = 60
RELAY_INTERVAL_S = 1.0


async def stage(c: Container, job_name: str, **kwargs: Any) -> OutboxJob:
    """Stage ``job_name(**kwargs)``: call inside the transaction that creates the work."""
    return await OutboxJob.create(job=job_name, kwargs=kwargs, created_at=c.clock.now())


async def _claim(c: Container, ids: list[int] | None, batch: int) -> list[OutboxJob]:
    """Take a lease on the oldest unclaimed rows (or ``ids``), in a short transaction of its
    own: the queue is then called outside any transaction."""
    now = c.clock.now()
    async with in_transaction() as conn:
        query = (
            OutboxJob.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("id")
            .limit(batch)
        )
        if ids is not None:
            query = query.filter(id__in=ids)
        if conn.capabilities.dialect == "postgres":
            query = query.select_for_update(skip_locked=True)
        rows = await query
        if rows:
            await OutboxJob.filter(id__in=[r.id for r in rows]).update(
                claimed_until=now + timedelta(seconds=LEASE_S)
            )
    return list(rows)


async def relay(c: Container, *, ids: list[int] | None = None, batch: int = BATCH) -> int:
    """Enqueue staged jobs (oldest first, or just ``ids``) and delete their rows; returns how
    many moved. Raises the queue's error after keeping what was moved before it."""
    moved: list[int] = []
    rows = await _claim(c, ids, batch)
    try:
        for row in rows:
            await c.jobs.enqueue(row.job, **row.kwargs)
            moved.append(row.id)
    finally:
        if moved:
            await OutboxJob.filter(id__in=moved).delete()
        left = [r.id for r in rows if r.id not in moved]
        if left:  # the queue failed: free them for the next pass at once
            await OutboxJob.filter(id__in=left).update(claimed_until=None)
    return len(moved)


async def relay_now(c: Container, staged: OutboxJob) -> None:
    """After the commit: put the job on the queue now. If the queue is down, the relay loop
    does it later; the request that created the work does not fail for it."""
    try:
        await relay(c, ids=[staged.id])
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is not None:
            OUTAGES.failed(dependency, exc)  # logged once per outage
        else:
            log.exception("outbox: could not enqueue %s #%s", staged.job, staged.id)


async def relay_pass(c: Container) -> bool:
    """One pass of the relay loop; an idle pass is one read, not a transaction."""
    if not await OutboxJob.exists():
        return False
    return await relay(c) >= BATCH


def relay_loop(c: Container) -> RepeatingPass:
    return RepeatingPass("outbox-relay", lambda: relay_pass(c), RELAY_INTERVAL_S)
