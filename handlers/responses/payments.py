"""Response models of orders, receipts and refunds."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from handlers.responses.base import Out
from handlers.responses.enrollment import EnrollmentPaid, PersonOut


class OrderItem(Out):
    person: PersonOut
    contribution_fen: int
    subsidy_category: str | None
    subsidy_fen: int
    due_fen: int
    refunded: bool


class OrderPayment(Out):
    method: str
    pay_params: dict[str, Any] | None = None
    code_url: str | None = None


class EnrolledWithoutPayment(Out):
    person: PersonOut
    year: int
    status: str
    order_id: int | None
    enrolled_at: str
    paid: EnrollmentPaid


class OrderReceipt(Out):
    number: str
    verification_code: str
    voided: bool


class OrderOut(Out):
    id: int
    out_trade_no: str
    year: int
    status: str
    total_fen: int
    total_yuan: str
    refunded_fen: int
    channel: str
    created_at: str
    expires_at: str
    paid_at: str | None
    items: list[OrderItem]
    payment: OrderPayment | None
    receipt: OrderReceipt | None
    # only in the answer that creates the order
    enrolled_without_payment: list[EnrolledWithoutPayment] | None = None
    needs_review: bool | None = None
    review_reason: str | None = None


class EnrolledWithoutOrderOut(Out):
    """Everyone asked for is fully subsidised (特困 and the like): enrolled, nothing to pay."""

    order: None
    enrolled_without_payment: list[EnrolledWithoutPayment]


class CreatedOrderOut(RootModel[OrderOut | EnrolledWithoutOrderOut]):
    """The new order, or, when nobody has anything to pay, no order at all."""


class GetReceiptItem(Out):
    name: str
    id_number: str
    contribution_fen: int
    subsidy_fen: int
    due_fen: int
    refunded: bool


class RefundOrderOut(Out):
    id: int
    out_refund_no: str
    order_id: int
    amount_fen: int
    reason: str
    status: str
    attempts: int
    created_at: str
    succeeded_at: str | None


class VerifyReceiptOut(Out):
    number: str
    title: str
    year: int
    status: str
    total_fen: int
    total_yuan: str
    refunded_fen: int
    paid_at: str
    issued_at: str
    transaction_id: str
    items: list[GetReceiptItem]


class GetReceiptOut(VerifyReceiptOut):
    verification_code: str


class WechatNotifyOut(Out):
    code: str
    message: str


class OrderListOut(Out):
    items: list[OrderOut]
