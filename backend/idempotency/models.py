from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    """The first answer to a command sent with an ``Idempotency-Key``."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=64)  # who sent it: "account:12", "terminal:k1"
    key = fields.CharField(max_length=128)
    request_hash = fields.CharField(max_length=64)
    status_code = fields.IntField(null=True)  # null while the first request is running
    response = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "key"),)
