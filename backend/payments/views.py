"""What a payer (or staff) reads about a payment order."""

from __future__ import annotations

from typing import Any

from backend.clock import iso
from backend.container import Container
from backend.enrollment.service import yuan
from backend.identity.persons import person_view
from backend.payments.models import OrderStatus, PaymentOrder, PaymentOrderItem, PaymentReceipt
from backend.payments.runtime import runtime


async def order_view(c: Container, order: PaymentOrder, *, staff: bool = False) -> dict[str, Any]:
    items = (
        await PaymentOrderItem.filter(order_id=order.id).order_by("id").prefetch_related("person")
    )
    view: dict[str, Any] = {
        "id": order.id,
        "out_trade_no": order.out_trade_no,
        "year": order.year,
        "status": OrderStatus(order.status).value,
        "total_fen": order.total_fen,
        "total_yuan": yuan(order.total_fen),
        "refunded_fen": order.refunded_fen,
        "channel": order.channel,
        "created_at": iso(order.created_at),
        "expires_at": iso(order.expires_at),
        "paid_at": iso(order.paid_at),
        "items": [
            {
                "person": person_view(c, item.person),
                "contribution_fen": item.contribution_fen,
                "subsidy_category": item.subsidy_category,
                "subsidy_fen": item.subsidy_fen,
                "due_fen": item.due_fen,
                "refunded": item.refund_id is not None,
            }
            for item in items
        ],
        "payment": None,
        "receipt": None,
    }
    if order.status is OrderStatus.OPEN:
        if order.pay_method == "jsapi" and order.prepay_id:
            view["payment"] = {
                "method": "jsapi",
                "pay_params": runtime(c).gateway.pay_params(order.prepay_id),
            }
        elif order.code_url:
            view["payment"] = {"method": "native", "code_url": order.code_url}
    receipt = await PaymentReceipt.get_or_none(order_id=order.id)
    if receipt is not None:
        view["receipt"] = {
            "number": receipt.number,
            "verification_code": receipt.verification_code,
            "voided": receipt.voided_at is not None,
        }
    if staff:
        view["needs_review"] = order.needs_review
        view["review_reason"] = order.review_reason
    return view
