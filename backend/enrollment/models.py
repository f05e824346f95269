from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.identity.models import Account, Person
    from backend.payments.models import PaymentOrder


class EnrollmentStatus(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    PENDING_PAYMENT = "pending_payment"
    ENROLLED = "enrolled"
    LAPSED = "lapsed"  # computed: enrolled the year before, not this year, collection closed


class Enrollment(Model):
    """One person's enrollment for one insurance year. The row is the person-year's state, it
    is locked (SELECT … FOR UPDATE) whenever an order, a payment or a refund changes it."""

    id = fields.BigIntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="enrollments"
    )
    person_id: int
    year = fields.IntField()
    status = fields.CharEnumField(EnrollmentStatus, max_length=16)
    version = fields.IntField(default=0)
    # The order that pays (or paid) for it; null when not enrolled or fully subsidised
    order: fields.ForeignKeyNullableRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="enrollments", null=True, on_delete=fields.SET_NULL
    )
    order_id: int | None
    contribution_fen = fields.IntField(default=0)
    subsidy_category = fields.CharField(max_length=32, null=True)
    subsidy_fen = fields.IntField(default=0)
    due_fen = fields.IntField(default=0)
    channel = fields.CharField(max_length=12, null=True)  # app | station | subsidy
    enrolled_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enrollment"
        unique_together = (("person", "year"),)


class PersonCategory(Model):
    """A person's subsidy category (资助参保类别: 特困人员, 低保对象, ...) over a date range,
    as confirmed by civil affairs and recorded by staff. Codes as in config/policy/premium.yaml."""

    id = fields.BigIntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="subsidy_categories"
    )
    person_id: int
    category = fields.CharField(max_length=32)
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)  # inclusive; null = open-ended
    recorded_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="recorded_categories", null=True, on_delete=fields.SET_NULL
    )
    recorded_by_id: int | None
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person_category"


class ChangeStatus(StrEnum):
    PENDING = "pending"  # proposed with evidence, waiting for a second person
    APPROVED = "approved"  # in force (a PersonCategory row was written)
    REJECTED = "rejected"


class CategoryChange(Model):
    """A proposed change of a person's subsidy category: evidence (the civil-affairs document's
    number and an uploaded scan) and a second approval by a different person before it counts."""

    id = fields.BigIntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="category_changes"
    )
    person_id: int
    category = fields.CharField(max_length=32, null=True)  # null: end the current category
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)
    evidence_number = fields.CharField(max_length=64)
    evidence_key = fields.CharField(max_length=200)
    evidence_type = fields.CharField(max_length=40)
    evidence_sha256 = fields.CharField(max_length=64)
    note = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(ChangeStatus, max_length=10)
    proposed_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="category_proposals"
    )
    proposed_by_id: int
    proposed_at = fields.DatetimeField()
    decided_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="category_decisions", null=True
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "category_change"
