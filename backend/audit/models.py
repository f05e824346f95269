from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One link of the append-only, HMAC-chained audit log."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True)  # 1, 2, 3 … without gaps: a gap is a deleted entry
    at = fields.DatetimeField()
    actor_id = fields.BigIntField(null=True)
    actor_role = fields.CharField(max_length=20)
    action = fields.CharField(max_length=64)
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.CharField(max_length=64)
    reason = fields.CharField(max_length=500, default="")
    data = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_entry"
        indexes = (("subject_type", "subject_id"),)


class AuditHead(Model):
    """The chain's head: one row, locked to append, so the chain never forks."""

    chain = fields.CharField(max_length=16, primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"
