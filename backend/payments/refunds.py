"""Refunds of premiums: full, or per person (e.g. the person was enrolled through another
channel meanwhile).

A refund is first recorded here, in one transaction with its effects (the persons' enrollments
reverted to "not enrolled", the order's refunded amount, the receipt voided when everything is
refunded), with an ``out_refund_no`` fixed once. It is then submitted to the gateway; when the
gateway cannot be reached or refuses, the refund stays ``pending`` and every retry (the expiry
sweep, or the next request) submits the *same* ``out_refund_no``, which WeChat refunds only
once. The outcome arrives by the REFUND.* notification or the refund query.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import iso
from backend.container import Container
from backend.enrollment import premiums
from backend.errors import Conflict, NotFound
from backend.identity.principal import Principal
from backend.payments.gateway import GatewayError, RefundResult
from backend.payments.models import (
    OrderStatus,
    PaymentOrder,
    PaymentOrderItem,
    PaymentReceipt,
    PaymentRefund,
    RefundStatus,
)
from backend.payments.results import Refund
from backend.payments.runtime import runtime

log = logging.getLogger("yibao.payments.refunds")

_STATUS = {
    "SUCCESS": RefundStatus.SUCCESS,
    "CLOSED": RefundStatus.CLOSED,
    "PROCESSING": RefundStatus.PROCESSING,
    "ABNORMAL": RefundStatus.ABNORMAL,
}


def refund_view(refund: PaymentRefund) -> Refund:
    return Refund(
        id=refund.id,
        out_refund_no=refund.out_refund_no,
        order_id=refund.order_id,
        amount_fen=refund.amount_fen,
        reason=refund.reason,
        status=RefundStatus(refund.status).value,
        attempts=refund.attempts,
        created_at=iso(refund.created_at),
        succeeded_at=iso(refund.succeeded_at),
    )


async def _refundable(
    order: PaymentOrder, person_ids: list[int] | None
) -> tuple[list[PaymentOrderItem], int]:
    """The order's items to refund (the given persons, or all not yet refunded) and their
    amount; refused when a person is not on the order, already refunded, or nothing is left."""
    items = await PaymentOrderItem.filter(order_id=order.id).order_by("id")
    if person_ids is not None:
        wanted = set(person_ids)
        if not wanted <= {i.person_id for i in items}:
            raise NotFound("该订单中没有所选人员", code="PERSON_NOT_ON_ORDER")
        items = [i for i in items if i.person_id in wanted]
        if any(i.refund_id is not None for i in items):
            raise Conflict("所选人员已申请过退费", code="REFUND_ALREADY_REQUESTED")
    else:
        items = [i for i in items if i.refund_id is None]
    amount = sum(i.due_fen for i in items)
    if not items or amount <= 0:
        raise Conflict("没有可退的金额", code="NOTHING_TO_REFUND")
    if order.refunded_fen + amount > order.total_fen:
        raise Conflict("退费金额超过实缴金额", code="REFUND_EXCEEDS_PAID")
    return items, amount


async def _new_refund(
    order: PaymentOrder,
    amount: int,
    principal: Principal,
    reason: str,
    idempotency_key: str | None,
    now: datetime,
) -> PaymentRefund:
    """The order's next refund (``RF<order number><nn>``), pending until the gateway answers."""
    count = await PaymentRefund.filter(order_id=order.id).count()
    return await PaymentRefund.create(
        out_refund_no=f"RF{order.out_trade_no}{count + 1:02d}",
        order=order,
        amount_fen=amount,
        reason=reason[:80],
        status=RefundStatus.PENDING,
        requested_by_id=principal.account_id,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )


async def request_refund(
    c: Container,
    principal: Principal,
    order_id: int,
    *,
    person_ids: list[int] | None,
    reason: str,
    idempotency_key: str | None = None,
) -> Refund:
    """Refund the given persons of a paid order (all remaining when None)."""
    now = c.clock.now()
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get_or_none(id=order_id)
        if order is None:
            raise NotFound("未找到该缴费订单", code="ORDER_NOT_FOUND")
        if idempotency_key:
            same = await PaymentRefund.get_or_none(
                order_id=order.id, idempotency_key=idempotency_key
            )
            if same is not None:
                return refund_view(same)
        if order.status is not OrderStatus.PAID:
            raise Conflict("只有已缴费的订单可以退费", code="ORDER_NOT_REFUNDABLE")
        items, amount = await _refundable(order, person_ids)
        refund = await _new_refund(order, amount, principal, reason, idempotency_key, now)
        await PaymentOrderItem.filter(id__in=[i.id for i in items]).update(refund_id=refund.id)
        refunded = order.refunded_fen + amount
        full = refunded == order.total_fen
        await PaymentOrder.filter(id=order.id, version=order.version).update(
            refunded_fen=refunded,
            status=OrderStatus.REFUNDED if full else OrderStatus.PAID,
            version=order.version + 1,
            updated_at=now,
        )
        persons = [i.person_id for i in items]
        reverted = await premiums.revert_refunded(order.id, persons, now)
        if full:
            await PaymentReceipt.filter(order_id=order.id, voided_at=None).update(voided_at=now)
        await record(
            c,
            actor=principal,
            action="payment.refund.request",
            subject_type="payment_order",
            subject_id=order.id,
            reason=reason[:200],
            data={
                "out_refund_no": refund.out_refund_no,
                "amount_fen": amount,
                "persons": persons,
                "enrollments_reverted": reverted,
            },
        )
    refund = await submit_refund(c, refund.id)
    return refund_view(refund)


async def _apply_result(c: Container, refund: PaymentRefund, result: RefundResult) -> None:
    status = _STATUS.get(result.status)
    if status is None:
        return
    now = c.clock.now()
    fields: dict[str, Any] = {"status": status, "updated_at": now}
    if result.refund_id:
        fields["refund_id"] = result.refund_id
    if status is RefundStatus.SUCCESS:
        fields["succeeded_at"] = result.success_time or now
    # Only move forward: pending → processing → terminal; a terminal state is final.
    allowed = [RefundStatus.PENDING, RefundStatus.PROCESSING]
    async with in_transaction():
        changed = await PaymentRefund.filter(id=refund.id, status__in=allowed).update(**fields)
        if changed and status in (RefundStatus.SUCCESS, RefundStatus.ABNORMAL, RefundStatus.CLOSED):
            await record(
                c,
                actor=None,
                action=f"payment.refund.{status.value}",
                subject_type="payment_order",
                subject_id=refund.order_id,
                data={"out_refund_no": refund.out_refund_no, "amount_fen": refund.amount_fen},
                actor_role="gateway",
            )
            if status is not RefundStatus.SUCCESS:
                await PaymentOrder.filter(id=refund.order_id).update(
                    needs_review=True, review_reason=f"refund_{status.value}"
                )


async def submit_refund(c: Container, refund_id: int) -> PaymentRefund:
    """Send a pending refund to the gateway under its fixed out_refund_no (safe to repeat)."""
    refund = await PaymentRefund.get(id=refund_id)
    if refund.status is not RefundStatus.PENDING:
        return refund
    order = await PaymentOrder.get(id=refund.order_id)
    rt = runtime(c)
    try:
        result = await rt.gateway.refund(
            out_trade_no=order.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund_fen=refund.amount_fen,
            total_fen=order.total_fen,
            reason=refund.reason,
            notify_url=rt.notify_url,
        )
    except GatewayError as exc:
        await PaymentRefund.filter(id=refund.id, status=RefundStatus.PENDING).update(
            attempts=F("attempts") + 1, last_error=exc.gateway_code[:64], updated_at=c.clock.now()
        )
        log.warning("refund %s not accepted yet: %s", refund.id, exc.gateway_code)
        return await PaymentRefund.get(id=refund.id)
    await PaymentRefund.filter(id=refund.id).update(attempts=F("attempts") + 1, last_error="")
    await _apply_result(c, refund, result)
    return await PaymentRefund.get(id=refund.id)


async def retry_pending_refunds(c: Container, *, batch: int = 100) -> int:
    """Resubmit refunds the gateway has not accepted, and ask about those in progress."""
    done = 0
    for refund in (
        await PaymentRefund.filter(status=RefundStatus.PENDING).order_by("id").limit(batch)
    ):
        if (await submit_refund(c, refund.id)).status is not RefundStatus.PENDING:
            done += 1
    rt = runtime(c)
    for refund in (
        await PaymentRefund.filter(status=RefundStatus.PROCESSING).order_by("id").limit(batch)
    ):
        try:
            result = await rt.gateway.query_refund(refund.out_refund_no)
        except GatewayError:
            continue
        if result is not None:
            await _apply_result(c, refund, result)
    return done


async def on_refund_notification(c: Container, data: dict[str, Any]) -> str:
    """A verified, decrypted REFUND.* notification. Returns an outcome for the log."""
    rt = runtime(c)
    if str(data.get("mchid") or "") != rt.mchid:
        return "merchant_mismatch"
    result = RefundResult.from_json(data)
    refund = await PaymentRefund.get_or_none(out_refund_no=result.out_refund_no)
    if refund is None:
        return "unknown_refund"
    if result.refund_fen is not None and result.refund_fen != refund.amount_fen:
        await PaymentOrder.filter(id=refund.order_id).update(
            needs_review=True, review_reason="refund_amount_mismatch"
        )
        return "amount_mismatch"
    await _apply_result(c, refund, result)
    return "applied"
