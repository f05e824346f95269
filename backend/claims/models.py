"""Claim tables.

- ``Claim``: one reimbursement request of an insured person, covering one or more invoices,
  prepared as a draft and then run on the case engine (``case``).
- ``ClaimInvoice``: one uploaded invoice image with the machine's reading (``proposal``) kept
  apart from the reviewer's ``confirmed`` values, its checks and flags.
- ``RegisteredInvoice``: the invoice identities (code and number) claimed by live claims, one
  row each under a unique constraint: the same invoice cannot be claimed twice anywhere.
- ``InvoiceFieldReview``: one row per field per confirmation, corrected or not (statistics).
- ``Disbursement``: the payout created on approval, to the citizen's bank account.
- ``SettlementYear``: a person-year's accumulated policy-range amount and scheme payments.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.cases.models import Case
    from backend.identity.models import Account, Person


class ClaimStatus(StrEnum):
    DRAFT = "draft"  # invoices being uploaded, no case yet
    SUBMITTED = "submitted"  # the case runs; its state is the claim's progress
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # or closed / not accepted


class Claim(Model):
    """A reimbursement claim of one insured person."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=24, unique=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="claims", on_delete=fields.RESTRICT
    )
    person_id: int
    created_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="created_claims", on_delete=fields.RESTRICT
    )
    created_by_id: int
    channel = fields.CharField(max_length=10)  # app or station
    station_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(ClaimStatus, max_length=10, default=ClaimStatus.DRAFT)
    version = fields.IntField(default=1)
    case: fields.OneToOneNullableRelation[Case] = fields.OneToOneField(
        "models.Case", related_name="claim", null=True, on_delete=fields.RESTRICT
    )
    case_id: int | None
    bank_name = fields.CharField(max_length=60, default="")
    bank_account_enc = fields.TextField(default="")
    # Set when the account that entered the bank account lost the identity (reclaimed)
    payout_frozen_at = fields.DatetimeField(null=True)
    payable_fen = fields.BigIntField(null=True)  # the last calculation
    calculation: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    submitted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "claim"
        indexes = (Index(fields=("person_id", "created_at")),)


class OcrStatus(StrEnum):
    PENDING = "pending"  # queued or running
    DONE = "done"  # a proposal is there
    MANUAL = "manual"  # OCR kept failing: the reviewer enters the values


class ClaimInvoice(Model):
    """One invoice image and its reading."""

    id = fields.BigIntField(primary_key=True)
    claim: fields.ForeignKeyRelation[Claim] = fields.ForeignKeyField(
        "models.Claim", related_name="invoices", on_delete=fields.CASCADE
    )
    claim_id: int
    file_key = fields.CharField(max_length=200)  # the upload as received
    image_key = fields.CharField(max_length=200)  # what OCR reads and reviewers see
    content_type = fields.CharField(max_length=40)
    size_bytes = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    # dHash of the image, 16 hex digits, and its four 16-bit bands (near-duplicate lookup)
    phash = fields.CharField(max_length=16)
    band0 = fields.CharField(max_length=4)
    band1 = fields.CharField(max_length=4)
    band2 = fields.CharField(max_length=4)
    band3 = fields.CharField(max_length=4)
    ocr_status = fields.CharEnumField(OcrStatus, max_length=10, default=OcrStatus.PENDING)
    ocr_attempts = fields.IntField(default=0)
    ocr_error = fields.CharField(max_length=60, default="")
    ocr_enqueued_at = fields.DatetimeField(null=True)
    # the machine's reading: value, confidence, box
    proposal: fields.JSONField[Any] = fields.JSONField(null=True)
    confirmed: fields.JSONField[Any] = fields.JSONField(null=True)  # the reviewer's values
    confirmed_by_id = fields.BigIntField(null=True)
    confirmed_at = fields.DatetimeField(null=True)
    corrected_fields: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    # checks: code, message, blocking
    flags: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "claim_invoice"
        indexes = (
            Index(fields=("claim_id", "id")),
            Index(fields=("band0",)),
            Index(fields=("band1",)),
            Index(fields=("band2",)),
            Index(fields=("band3",)),
            Index(fields=("ocr_status", "ocr_enqueued_at")),
        )


class RegisteredInvoice(Model):
    """An invoice identity held by a live claim: unique across all claims."""

    id = fields.BigIntField(primary_key=True)
    invoice_code = fields.CharField(max_length=20)
    invoice_number = fields.CharField(max_length=20)
    invoice: fields.OneToOneRelation[ClaimInvoice] = fields.OneToOneField(
        "models.ClaimInvoice", related_name="registration", on_delete=fields.CASCADE
    )
    invoice_id: int
    claim_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "registered_invoice"
        unique_together = (("invoice_code", "invoice_number"),)


class InvoiceFieldReview(Model):
    """Whether the reviewer changed the machine's value of one field (OCR statistics)."""

    id = fields.BigIntField(primary_key=True)
    invoice_id = fields.BigIntField()
    field_name = fields.CharField(max_length=32)
    engine = fields.CharField(max_length=16)  # rapidocr, tesseract or manual
    corrected = fields.BooleanField()
    reviewed_at = fields.DatetimeField()

    class Meta:
        table = "invoice_field_review"
        indexes = (Index(fields=("reviewed_at", "field_name")),)


class DisbursementStatus(StrEnum):
    SCHEDULED = "scheduled"  # approved, to be transferred by the due date
    PAID = "paid"
    CANCELLED = "cancelled"
    FROZEN = "frozen"  # held for review: the bank account may be a stranger's


class Disbursement(Model):
    """The payout of an approved claim to the insured person's bank account."""

    id = fields.BigIntField(primary_key=True)
    claim: fields.OneToOneRelation[Claim] = fields.OneToOneField(
        "models.Claim", related_name="disbursement", on_delete=fields.RESTRICT
    )
    claim_id: int
    person_id = fields.BigIntField()
    amount_fen = fields.BigIntField()
    year = fields.IntField()  # the year the payout counts against (yearly cap)
    bank_name = fields.CharField(max_length=60)
    bank_account_enc = fields.TextField()
    status = fields.CharEnumField(DisbursementStatus, max_length=10)
    due_date = fields.DateField()
    explanation: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    reference = fields.CharField(max_length=64, default="")  # the bank's transfer reference
    created_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "disbursement"
        indexes = (
            Index(fields=("person_id", "year")),
            Index(fields=("status", "due_date")),
        )


class SettlementYear(Model):
    """One person's year of settlements (by the year of the care date): the policy-range
    amount and what each scheme paid, against the yearly thresholds and caps.

    The approval of a claim locks its rows (``SELECT ... FOR UPDATE``, years ascending) before
    it computes and adds to them, so two claims of one person approved at the same time are
    settled one after the other, each seeing the other's payments."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.BigIntField()
    year = fields.IntField()
    in_range_fen = fields.BigIntField(default=0)  # 政策范围内费用
    basic_paid_fen = fields.BigIntField(default=0)  # 基本医疗保险
    catastrophic_base_fen = fields.BigIntField(default=0)  # 大病保险合规费用
    catastrophic_paid_fen = fields.BigIntField(default=0)  # 大病保险
    assistance_paid_fen = fields.BigIntField(default=0)  # 医疗救助
    updated_at = fields.DatetimeField()

    class Meta:
        table = "settlement_year"
        unique_together = (("person_id", "year"),)
