from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class EnrollmentStatus(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    PENDING_PAYMENT = "pending_payment"
    ENROLLED = "enrolled"
    LAPSED = "lapsed"  # computed: enrolled the year before, not this year, collection closed


class Enrollment(Model):
    """One person's enrollment for one insurance year. The row is the person-year's state, it
    is locked (SELECT … FOR UPDATE) whenever an order, a payment or a refund changes it."""

    id = fields.BigIntField(primary_key=True)
    person = fields.ForeignKeyField("models.Person", related_name="enrollments")
    year = fields.IntField()
    status = fields.CharEnumField(EnrollmentStatus, max_length=16)
    version = fields.IntField(default=0)
    # The order that pays (or paid) for it; null when not enrolled or fully subsidised
    order = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="enrollments", null=True, on_delete=fields.SET_NULL
    )
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
    person = fields.ForeignKeyField("models.Person", related_name="subsidy_categories")
    category = fields.CharField(max_length=32)
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)  # inclusive; null = open-ended
    recorded_by = fields.ForeignKeyField(
        "models.Account", related_name="recorded_categories", null=True, on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person_category"
