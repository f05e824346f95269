"""Crediting a payment exactly once.

:func:`credit` is the one place an order becomes paid. It runs in one transaction that locks
the order row (``SELECT … FOR UPDATE``), compare-and-sets its (status, version), enrolls the
persons, frees their open-order slots, issues the receipt, stores the notification and appends
the audit entry; a duplicate (sequential or concurrent) waits for the lock, then sees the order
paid with the same transaction id and changes nothing. Callers answer the gateway only after it
returns, i.e. after the commit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.container import Container
from backend.enrollment import premiums
from backend.errors import Conflict
from backend.payments.gateway import Transaction
from backend.payments.models import (
    OpenOrderSlot,
    OrderStatus,
    PaymentNotification,
    PaymentOrder,
    PaymentOrderItem,
    PaymentRefund,
    RefundStatus,
)
from backend.payments.receipts import issue_receipt
from backend.payments.refunds import submit_refund

PAID_STATES = (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.LATE_PAID)


class Credit(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    LATE_PAID = "late_paid"  # paid after we closed it: refunded, flagged for review
    PAID_TWICE = "paid_twice"  # a different transaction for a paid order: flagged


async def credit(
    c: Container, tx: Transaction, *, notify_id: str, event_type: str = "TRANSACTION.SUCCESS"
) -> Credit:
    """Record a verified successful payment exactly once (see the module notes)."""
    now = c.clock.now()
    refund_id: int | None = None
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get_or_none(out_trade_no=tx.out_trade_no)
        if order is None:
            return Credit.UNKNOWN_ORDER
        if tx.total_fen != order.total_fen:
            outcome = await _amount_mismatch(c, order, tx, now)
        elif order.status in PAID_STATES:
            if order.transaction_id == tx.transaction_id:
                return Credit.DUPLICATE
            await _flag(order, f"paid_twice: {tx.transaction_id}", now)
            outcome = Credit.PAID_TWICE
        elif order.status is OrderStatus.CLOSED:
            refund_id = await _paid_after_close(c, order, tx, now)
            outcome = Credit.LATE_PAID
        else:
            await _pay(c, order, tx, now)
            outcome = Credit.CREDITED
        await _note(notify_id, event_type, tx, outcome, now)
    if refund_id is not None:
        await submit_refund(c, refund_id)
    return outcome


async def _amount_mismatch(
    c: Container, order: PaymentOrder, tx: Transaction, now: datetime
) -> Credit:
    """The gateway reports another amount: nothing is credited, the order waits for review."""
    await _flag(order, f"amount_mismatch: gateway {tx.total_fen} fen", now)
    await _gateway_event(
        c,
        order,
        "payment.review",
        {"expected_fen": order.total_fen, "reported_fen": tx.total_fen},
        reason="amount_mismatch",
    )
    return Credit.AMOUNT_MISMATCH


async def _paid_after_close(
    c: Container, order: PaymentOrder, tx: Transaction, now: datetime
) -> int:
    """Money for an order we had closed: never credit a closed order (its persons may have
    paid since through another order); refund it in full and flag it. The refund's id."""
    await PaymentOrder.filter(id=order.id, version=order.version).update(
        status=OrderStatus.LATE_PAID,
        version=order.version + 1,
        refunded_fen=order.total_fen,
        transaction_id=tx.transaction_id,
        paid_at=tx.success_time or now,
        needs_review=True,
        review_reason="paid_after_close: refunded",
        updated_at=now,
    )
    refund = await PaymentRefund.create(
        out_refund_no=f"RF{order.out_trade_no}L",
        order=order,
        amount_fen=order.total_fen,
        reason="订单已关闭后到账，原路退回",
        status=RefundStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    await _gateway_event(
        c,
        order,
        "payment.late_paid",
        {"transaction_id": tx.transaction_id, "refund": refund.out_refund_no},
        reason="paid_after_close",
    )
    return refund.id


async def _pay(c: Container, order: PaymentOrder, tx: Transaction, now: datetime) -> None:
    """The open order becomes paid (compare-and-set), its persons enrolled, their slots freed
    and the receipt issued."""
    paid_at = tx.success_time or now
    won = await PaymentOrder.filter(
        id=order.id, status=OrderStatus.OPEN, version=order.version
    ).update(
        status=OrderStatus.PAID,
        version=order.version + 1,
        transaction_id=tx.transaction_id,
        paid_at=paid_at,
        updated_at=now,
    )
    if not won:  # impossible under the row lock; never a double effect
        raise Conflict("订单状态已变化，请重试", code="ORDER_STATE_CHANGED")
    order.transaction_id, order.paid_at = tx.transaction_id, paid_at
    items = await PaymentOrderItem.filter(order_id=order.id).count()
    enrolled = await premiums.enroll_paid(order.id, paid_at, now)
    if enrolled != items:
        await _flag(order, f"enrollment_mismatch: {enrolled}/{items}", now)
    await OpenOrderSlot.filter(order_id=order.id).delete()
    await issue_receipt(c, order, now)
    await _gateway_event(
        c,
        order,
        "payment.credit",
        {
            "transaction_id": tx.transaction_id,
            "total_fen": order.total_fen,
            "year": order.year,
            "enrolled": enrolled,
        },
    )


async def _gateway_event(
    c: Container, order: PaymentOrder, action: str, data: dict[str, Any], *, reason: str = ""
) -> None:
    """Audit what the gateway's report did to ``order`` (no person acted: the gateway did)."""
    await record(
        c,
        actor=None,
        action=action,
        subject_type="payment_order",
        subject_id=order.id,
        reason=reason,
        data=data,
        actor_role="gateway",
    )


async def _note(
    notify_id: str, event_type: str, tx: Transaction, outcome: Credit, now: datetime
) -> None:
    if await PaymentNotification.exists(notify_id=notify_id):
        return
    await PaymentNotification.create(
        notify_id=notify_id,
        event_type=event_type,
        out_trade_no=tx.out_trade_no,
        outcome=outcome.value,
        summary={
            "trade_state": tx.trade_state,
            "transaction_id": tx.transaction_id,
            "total_fen": tx.total_fen,
            "success_time": tx.success_time.isoformat() if tx.success_time else None,
        },
        received_at=now,
    )


async def _flag(order: PaymentOrder, reason: str, now: datetime) -> None:
    await PaymentOrder.filter(id=order.id).update(
        needs_review=True, review_reason=reason[:200], updated_at=now
    )
