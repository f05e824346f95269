"""What the payment services answer, where the answer has one shape: typed results, serialised
by the handlers' response models (``handlers/responses/payments.py``). Moments are ISO strings
in UTC (``backend.clock.iso``), amounts in fen, as the responses carry them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceiptItem:
    """One person on a receipt (masked)."""

    name: str
    id_number: str
    contribution_fen: int
    subsidy_fen: int
    due_fen: int
    refunded: bool


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt as anyone holding its number and code may check it."""

    number: str
    title: str
    year: int
    status: str  # valid, partially_refunded, voided
    total_fen: int
    total_yuan: str
    refunded_fen: int
    paid_at: str | None
    issued_at: str | None
    transaction_id: str | None
    items: list[ReceiptItem]


@dataclass(frozen=True)
class Receipt(VerifiedReceipt):
    """A receipt as its payer (or staff) reads it: with the code that verifies it."""

    verification_code: str


@dataclass(frozen=True)
class Refund:
    id: int
    out_refund_no: str
    order_id: int
    amount_fen: int
    reason: str
    status: str
    attempts: int
    created_at: str | None
    succeeded_at: str | None
