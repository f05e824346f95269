from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One entry of the append-only, HMAC-chained audit log.

    Business transactions insert entries with no chain position (``seq`` empty): no shared
    row is locked. The sealer (``backend.audit.sealer``) then gives them, in commit order,
    the next positions 1, 2, 3 … without gaps (a gap is a deleted entry), the previous
    entry's hash and their own."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True, null=True)  # empty until sealed
    at = fields.DatetimeField()
    actor_id = fields.BigIntField(null=True)
    actor_role = fields.CharField(max_length=20)
    action = fields.CharField(max_length=64)
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.CharField(max_length=64)
    reason = fields.CharField(max_length=500, default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64, null=True)
    hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_entry"
        indexes = (("subject_type", "subject_id"),)


class AuditHead(Model):
    """The sealed chain's head: one row, written only by the sealer (never by a business
    transaction), under a compare-and-set on ``seq`` so the chain never forks."""

    chain = fields.CharField(max_length=16, primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"
