from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class OutboxJob(Model):
    """A background job staged in the transaction that created its work, waiting to be put
    on the job queue (the relay deletes the row once the queue has the job)."""

    id = fields.BigIntField(primary_key=True)
    job = fields.CharField(max_length=64)
    kwargs: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    # A relay holds the row until then while it enqueues (a relay that died lets go of it)
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "job_outbox"
