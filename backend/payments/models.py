from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.enrollment.models import Enrollment
    from backend.identity.models import Account, Person


class OrderStatus(StrEnum):
    OPEN = "open"  # created, waiting for the payer
    PAID = "paid"  # credited: enrollments enrolled, receipt issued
    CLOSED = "closed"  # expired or abandoned, closed at the gateway
    REFUNDED = "refunded"  # every fen refunded
    LATE_PAID = "late_paid"  # money arrived for a closed order: not credited, refunded


class PaymentOrder(Model):
    """A premium payment for one or more persons and one insurance year."""

    id = fields.BigIntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    year = fields.IntField()
    status = fields.CharEnumField(OrderStatus, max_length=10, db_index=True)
    version = fields.IntField(default=0)
    total_fen = fields.IntField()
    refunded_fen = fields.IntField(default=0)
    description = fields.CharField(max_length=127)
    created_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="payment_orders"
    )
    created_by_id: int
    payer_person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="paid_orders", null=True, on_delete=fields.SET_NULL
    )
    payer_person_id: int | None
    channel = fields.CharField(max_length=12)  # app | station
    station_id = fields.BigIntField(null=True)
    idempotency_key = fields.CharField(max_length=128, null=True)
    pay_method = fields.CharField(max_length=8)  # jsapi | native
    openid = fields.CharField(max_length=128, null=True)
    prepay_id = fields.CharField(max_length=64, null=True)
    code_url = fields.CharField(max_length=256, null=True)
    expires_at = fields.DatetimeField(db_index=True)
    transaction_id = fields.CharField(max_length=32, null=True)
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    needs_review = fields.BooleanField(default=False)
    review_reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payment_order"
        unique_together = (("created_by", "idempotency_key"),)


class PaymentOrderItem(Model):
    """One person on an order, with the premium computed when the order was made."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="items"
    )
    order_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="payment_items"
    )
    person_id: int
    enrollment: fields.ForeignKeyRelation[Enrollment] = fields.ForeignKeyField(
        "models.Enrollment", related_name="payment_items"
    )
    enrollment_id: int
    contribution_fen = fields.IntField()
    subsidy_category = fields.CharField(max_length=32, null=True)
    subsidy_fen = fields.IntField(default=0)
    due_fen = fields.IntField()
    refund: fields.ForeignKeyNullableRelation[PaymentRefund] = fields.ForeignKeyField(
        "models.PaymentRefund", related_name="items", null=True, on_delete=fields.SET_NULL
    )
    refund_id: int | None

    class Meta:
        table = "payment_order_item"
        unique_together = (("order", "person"),)


class OpenOrderSlot(Model):
    """At most one open order per person and year, enforced by the unique constraint: a row
    exists exactly while an order for (person, year) is open."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.BigIntField()
    year = fields.IntField()
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="slots"
    )
    order_id: int

    class Meta:
        table = "payment_open_slot"
        unique_together = (("person_id", "year"),)


class PaymentNotification(Model):
    """A verified gateway notification that changed something or needs a person's attention.
    Holds no personal data: the decrypted payload is reduced to ids, states and amounts."""

    id = fields.BigIntField(primary_key=True)
    notify_id = fields.CharField(max_length=64, unique=True)
    event_type = fields.CharField(max_length=32)
    out_trade_no = fields.CharField(max_length=32, db_index=True)
    outcome = fields.CharField(max_length=24)  # credited, amount_mismatch, late_paid, ...
    summary: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    received_at = fields.DatetimeField()

    class Meta:
        table = "payment_notification"


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded; not yet accepted by the gateway (retry reuses the number)
    PROCESSING = "processing"
    SUCCESS = "success"
    CLOSED = "closed"
    ABNORMAL = "abnormal"


class PaymentRefund(Model):
    id = fields.BigIntField(primary_key=True)
    out_refund_no = fields.CharField(max_length=64, unique=True)
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="refunds"
    )
    order_id: int
    amount_fen = fields.IntField()
    reason = fields.CharField(max_length=80)
    status = fields.CharEnumField(RefundStatus, max_length=10, db_index=True)
    refund_id = fields.CharField(max_length=64, null=True)
    requested_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="payment_refunds", null=True, on_delete=fields.SET_NULL
    )
    requested_by_id: int | None
    idempotency_key = fields.CharField(max_length=128, null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=64, default="")
    succeeded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payment_refund"


class PaymentReceipt(Model):
    """缴费凭证: one per paid order, checkable by number and verification code."""

    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation[PaymentOrder] = fields.OneToOneField(
        "models.PaymentOrder", related_name="receipt"
    )
    order_id: int
    number = fields.CharField(max_length=32, unique=True)
    verification_code = fields.CharField(max_length=16)
    issued_at = fields.DatetimeField()
    voided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment_receipt"


class ReconciliationRun(Model):
    id = fields.BigIntField(primary_key=True)
    bill_date = fields.DateField(db_index=True)
    created_at = fields.DatetimeField()
    summary: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    discrepancies: fields.JSONField[list[Any]] = fields.JSONField(default=list)

    class Meta:
        table = "payment_reconciliation"
