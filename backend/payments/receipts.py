"""缴费凭证: one receipt per paid order, with a verification code anyone holding the paper or
screenshot can check (``GET /api/v1/payments/receipts/verify``). The code is an HMAC under a
server key over the receipt's facts, so it can be neither guessed nor recomputed from them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from backend.clock import iso
from backend.container import Container
from backend.enrollment.service import yuan
from backend.errors import NotFound
from backend.identity.persons import id_number_of
from backend.infra.crypto import mask_id_number, mask_name
from backend.payments.models import OrderStatus, PaymentOrder, PaymentOrderItem, PaymentReceipt
from backend.payments.results import Receipt, ReceiptItem, VerifiedReceipt


def _code(c: Container, number: str, order: PaymentOrder) -> str:
    message = f"receipt:v1:{number}:{order.out_trade_no}:{order.total_fen}:{order.transaction_id}"
    digest = hmac.new(c.keys.index_key, message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:12]


async def issue_receipt(c: Container, order: PaymentOrder, now: datetime) -> PaymentReceipt:
    """Inside the crediting transaction: the receipt exists exactly when the order is paid."""
    number = f"YB{order.year}{order.id:010d}"
    return await PaymentReceipt.create(
        order=order, number=number, verification_code=_code(c, number, order), issued_at=now
    )


async def receipt_view(c: Container, receipt: PaymentReceipt, order: PaymentOrder) -> Receipt:
    facts = await _facts(c, receipt, order)
    return Receipt(**vars(facts), verification_code=receipt.verification_code)


async def _facts(c: Container, receipt: PaymentReceipt, order: PaymentOrder) -> VerifiedReceipt:
    items = (
        await PaymentOrderItem.filter(order_id=order.id).order_by("id").prefetch_related("person")
    )
    refunded = order.refunded_fen > 0
    status = "voided" if receipt.voided_at else ("partially_refunded" if refunded else "valid")
    return VerifiedReceipt(
        number=receipt.number,
        title=f"{order.year}年度城乡居民基本医疗保险缴费凭证",
        year=order.year,
        status=status,
        total_fen=order.total_fen,
        total_yuan=yuan(order.total_fen),
        refunded_fen=order.refunded_fen,
        paid_at=iso(order.paid_at),
        issued_at=iso(receipt.issued_at),
        transaction_id=order.transaction_id,
        items=[
            ReceiptItem(
                name=mask_name(item.person.name),
                id_number=mask_id_number(id_number_of(c, item.person)),
                contribution_fen=item.contribution_fen,
                subsidy_fen=item.subsidy_fen,
                due_fen=item.due_fen,
                refunded=item.refund_id is not None,
            )
            for item in items
        ],
    )


async def verify_receipt(c: Container, number: str, code: str) -> VerifiedReceipt:
    """Public check; a wrong number or code look the same (404)."""
    receipt = await PaymentReceipt.get_or_none(number=number.strip().upper())
    not_found = NotFound("未找到该缴费凭证，请核对凭证号和校验码", code="RECEIPT_NOT_FOUND")
    if receipt is None or not hmac.compare_digest(receipt.verification_code, code.strip().upper()):
        raise not_found
    order = await PaymentOrder.get(id=receipt.order_id)
    if order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED):
        raise not_found
    return await _facts(c, receipt, order)
