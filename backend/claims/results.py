"""What the claim services answer: typed results, serialised by the handlers' response models
(``handlers/responses/claims.py``) and shown by the console's pages. Moments are ISO strings
(``backend.claims.views``), money both in fen and as yuan text, as the responses carry them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Payout:
    """A claim's disbursement: the amount, where it goes (masked), when it is due or was paid."""

    id: int
    amount: str
    amount_fen: int
    status: str
    due_date: str | None
    overdue: bool
    bank_name: str
    bank_account: str  # masked
    paid_at: str | None
    explanation: list[str]


@dataclass(frozen=True)
class DuePayout(Payout):
    """A scheduled payout on finance's list, with its claim and payee (masked)."""

    claim_number: str
    payee: str


@dataclass(frozen=True)
class InsuredName:
    name: str  # masked


@dataclass(frozen=True)
class CaseRef:
    id: int
    number: str
    state: str
    version: int


@dataclass(frozen=True)
class InvoiceSummary:
    """An invoice as the applicant side sees it: what was read, and what the reading noticed."""

    id: int
    seq: int
    content_type: str
    ocr_status: str
    confirmed: bool
    recognised: dict[str, Any]  # code, number, date, hospital, visit type, total
    notices: list[str]


@dataclass(frozen=True)
class ClaimView:
    """A claim as the applicant side sees it: progress, invoices, the amount and why."""

    id: int
    number: str
    status: str
    version: int
    channel: str
    insured: InsuredName
    case: CaseRef | None
    invoices: list[InvoiceSummary]
    bank_name: str | None
    bank_account: str | None  # masked
    payout_frozen: bool
    payable: str | None
    explanation: list[str]
    schemes: list[dict[str, Any]]  # as calculated (backend.claims.calculation)
    payout: Payout | None
    submitted_at: str | None
    created_at: str | None


@dataclass(frozen=True)
class FieldCorrections:
    field: str
    reviewed: int
    corrected: int
    correction_rate: str | None  # a decimal, four places; None before any review


@dataclass(frozen=True)
class CorrectionStats:
    """How often reviewers corrected each field of the machine's reading."""

    fields: list[FieldCorrections]
    manual_entries: int


@dataclass(frozen=True)
class FrozenPayout:
    """A claim whose payout a reclaim froze, for supervision staff to decide."""

    claim_id: int
    claim_number: str
    claim_status: str
    person: dict[str, object]  # backend.identity.persons.person_view
    set_by_account_id: int
    bank_name: str
    bank_account: str  # masked
    frozen_at: str | None
    payout: Payout | None


@dataclass(frozen=True)
class FrozenPayouts:
    items: list[FrozenPayout]


@dataclass(frozen=True)
class CatalogueEntry:
    """A catalogue entry as the reviewer classing an item sees it."""

    code: str
    name: str
    kind: str
    item_class: str
    class_label: str
    self_pay_ratio: str | None  # 乙类 only


@dataclass(frozen=True)
class CatalogueSearch:
    effective_from: str  # the catalogue in force, by the date it took effect
    items: list[CatalogueEntry]
