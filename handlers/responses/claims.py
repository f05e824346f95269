"""Response models of reimbursement claims: invoices, review, settlement, payout."""

from __future__ import annotations

from typing import Any

from handlers.responses.base import Out


class ClaimReviewInsured(Out):
    name: str
    person_id: int


class ClaimReviewCase(Out):
    id: int
    state: str
    version: int
    review_level: int
    required_levels: int


class ClaimReviewInvoiceFlag(Out):
    code: str
    message: str
    blocking: bool


class ClaimReviewInvoice(Out):
    id: int
    seq: int
    image_url: str
    width: int
    height: int
    content_type: str
    ocr_status: str
    ocr_attempts: int
    ocr_error: str | None
    proposal: dict[str, Any]
    confirmed: dict[str, Any] | None
    confirmed_by: int | None
    confirmed_at: str | None
    corrected_fields: list[str]
    flags: list[ClaimReviewInvoiceFlag]


class SettlementItem(Out):
    """One item line of an invoice, classed against the catalogue (backend.claims.catalogue)."""

    name: str
    amount_fen: int
    code: str | None
    item_class: str | None  # jia, yi, bing; null: not in the catalogue
    class_label: str | None
    source: str
    source_label: str
    self_pay_ratio: str | None  # 乙类 only, a decimal as text
    self_pay_fen: int
    eligible_fen: int


class SettlementInvoice(Out):
    """One invoice's settlement (backend.claims.settlement.InvoiceSettlement)."""

    label: str
    in_range_fen: int
    eligible_fen: int
    deductible_fen: int
    ratio: str  # a decimal as text, e.g. "0.6"
    payable_fen: int
    items: list[SettlementItem]
    basic_fen: int
    catastrophic_fen: int
    assistance_fen: int
    year: int
    lines: list[str]


class SettlementScheme(Out):
    """What one scheme pays: basic insurance, catastrophic insurance, medical assistance."""

    scheme: str  # basic | catastrophic | assistance
    name: str
    amount_fen: int
    amount: str
    rule: str


class SettlementYear(Out):
    """One person's year (fen): the policy-range amount and each scheme's payments."""

    in_range_fen: int
    basic_paid_fen: int
    catastrophic_base_fen: int
    catastrophic_paid_fen: int
    assistance_paid_fen: int


class SettlementOut(Out):
    """A claim's settlement and its explanation (backend.claims.settlement.Settlement)."""

    invoices: list[SettlementInvoice]
    schemes: list[SettlementScheme]
    payable_fen: int
    payable: str
    unresolved_items: list[str]
    accumulated_before: dict[str, SettlementYear]  # by year
    increments: dict[str, SettlementYear]  # by year: what this claim adds
    lines: list[str]
    policy_effective_from: str


class ClaimReviewOut(Out):
    id: int
    number: str
    status: str
    insured: ClaimReviewInsured
    case: ClaimReviewCase
    invoices: list[ClaimReviewInvoice]
    calculation: SettlementOut | None  # the last settlement, null before it can be made
    open_items: list[str]


class ClaimInsured(Out):
    name: str


class ClaimCase(Out):
    id: int
    number: str
    state: str
    version: int


class ClaimInvoiceRecognised(Out):
    invoice_code: str | None
    invoice_number: str | None
    issue_date: str | None
    hospital_name: str | None
    visit_type: str | None
    total_amount: str | None


class ClaimInvoice(Out):
    id: int
    seq: int
    content_type: str
    ocr_status: str
    confirmed: bool
    recognised: ClaimInvoiceRecognised
    notices: list[str]


class DisbursementOut(Out):
    id: int
    amount: str
    amount_fen: int
    status: str
    due_date: str
    overdue: bool
    bank_name: str
    bank_account: str
    paid_at: str | None
    explanation: list[str]


class ClaimOut(Out):
    id: int
    number: str
    status: str
    version: int
    channel: str
    insured: ClaimInsured
    case: ClaimCase | None
    invoices: list[ClaimInvoice]
    bank_name: str | None
    bank_account: str | None
    payout_frozen: bool  # the bank account is held for review after a reclaim
    payable: str | None
    explanation: list[str]
    schemes: list[SettlementScheme]  # what each scheme pays, once approved
    payout: DisbursementOut | None
    submitted_at: str | None
    created_at: str


class MyClaimsOut(Out):
    items: list[ClaimOut]


class OcrStatsField(Out):
    field: str
    reviewed: int
    corrected: int
    correction_rate: str | None


class OcrStatsOut(Out):
    fields: list[OcrStatsField]
    manual_entries: int


class UploadInvoiceOut(Out):
    invoice_id: int
    claim: ClaimOut


class SettlementPreviewOut(Out):
    settlement: SettlementOut | None


class CatalogueEntry(Out):
    """A catalogue entry as backend.claims.assessment shows it."""

    code: str
    name: str
    kind: str
    item_class: str
    class_label: str
    self_pay_ratio: str | None  # 乙类 only


class CatalogueSearchOut(Out):
    effective_from: str
    items: list[CatalogueEntry]
