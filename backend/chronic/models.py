"""Chronic and special-disease qualification records and expert verdicts.

A qualification is recorded when its case is issued (fast track or after expert review).
``active_slot`` holds ``"<person>:<disease>"`` while the qualification is active and is
unique: the database refuses two active qualifications for the same disease.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.cases.models import Case
    from backend.identity.models import Person


class QualificationStatus(StrEnum):
    ACTIVE = "active"  # 有效
    RENEWED = "renewed"  # 已续期: a newer record continues it
    EXPIRED = "expired"  # 已到期
    REVOKED = "revoked"  # 已取消


class ChronicQualification(Model):
    """A person's qualification for one disease, from its case."""

    id = fields.BigIntField(primary_key=True)
    serial = fields.CharField(max_length=32, unique=True)  # 待遇认定编号
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="chronic_qualifications", on_delete=fields.RESTRICT
    )
    person_id: int
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "models.Case", related_name="chronic_qualification", on_delete=fields.RESTRICT
    )
    case_id: int
    disease_code = fields.CharField(max_length=10)
    disease_name = fields.CharField(max_length=40)
    disease_category = fields.CharField(max_length=8)  # chronic / special
    fast_track = fields.BooleanField(default=False)
    # designated institutions (names)
    institutions: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)  # null: long-term
    renews_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(QualificationStatus, max_length=8)
    active_slot = fields.CharField(max_length=40, null=True, unique=True)
    version = fields.IntField(default=1)
    reminded_for = fields.DateField(null=True)  # the valid_to a renewal reminder was sent for
    end_reason_code = fields.CharField(max_length=8, default="")
    end_reason = fields.CharField(max_length=300, default="")
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chronic_qualification"
        indexes = (Index(fields=("person_id", "status")), Index(fields=("status", "valid_to")))


class ChronicVerdict(Model):
    """An expert reviewer's verdict on one assessment criterion of a case."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="chronic_verdicts", on_delete=fields.CASCADE
    )
    case_id: int
    level = fields.SmallIntField()
    criterion = fields.CharField(max_length=8)
    criterion_text = fields.CharField(max_length=200)
    met = fields.BooleanField()
    note = fields.CharField(max_length=300, default="")
    reviewer_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "chronic_verdict"
        unique_together = (("case", "level", "criterion"),)
