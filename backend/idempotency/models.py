from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    """The first answer to a command sent with an ``Idempotency-Key``."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=80)  # who sent it: "account:12", "terminal:tk_…"
    key = fields.CharField(max_length=128)
    request_hash = fields.CharField(max_length=64)
    status_code = fields.IntField(null=True)  # null while the first request is running
    # {"content_type": ..., "body": ...}
    response: fields.JSONField[Any] = fields.JSONField(null=True)
    # Fencing token of the attempt that currently owns the record: a stale attempt that was
    # taken over can neither store its answer nor delete the record of its successor.
    owner = fields.CharField(max_length=32)
    started_at = fields.DatetimeField()  # when the owning attempt began (injected clock)
    created_at = fields.DatetimeField(db_index=True)  # expiry runs on this (injected clock)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)
