"""Checks before review, as pure functions over an invoice's values: each returns flags
``{"code", "message", "blocking"}``. A blocking flag keeps the claim from being approved (the
engine's ``service_ready`` guard) until the values are corrected or the claim is rejected; the
others are shown to the reviewer.

Which values: the machine's proposal until a reviewer confirms, then the confirmed values.
The duplicate-invoice and same-photo checks need the database and live in the service.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.policy import ItemClass, ReimbursementPolicy

Flag = dict[str, Any]

# The OCR keys a reviewer confirms (items and the capital amount are shown, not confirmed).
CONFIRMED_OCR_KEYS = (
    "invoice_code",
    "invoice_number",
    "issue_date",
    "payer_name",
    "hospital_name",
    "visit_type",
    "total_amount",
    "self_expense",
    "fund_paid",
    "other_paid",
)
_MONEY = r"^\d{1,9}(\.\d{1,2})?$"


def flag(code: str, message: str, *, blocking: bool = False) -> Flag:
    return {"code": code, "message": message, "blocking": blocking}


class ItemValues(BaseModel):
    """One item line as the reviewer confirms it; ``item_class`` classes an item the catalogue
    does not know (or overrides it), None leaves it to the catalogue and the invoice's split."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)
    amount: str = Field(pattern=_MONEY)
    code: str = Field(default="", pattern=r"^[0-9A-Za-z]{0,30}$")
    item_class: ItemClass | None = None

    @field_validator("amount")
    @classmethod
    def _two_decimals(cls, value: str) -> str:
        return f"{Decimal(value):.2f}"


class InvoiceValues(BaseModel):
    """The values a reviewer confirms for one invoice (the OCR keys plus what OCR cannot know:
    the institution level and the region of care)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    invoice_code: str = Field(pattern=r"^[0-9A-Za-z]{6,20}$")
    invoice_number: str = Field(pattern=r"^[0-9]{6,20}$")
    issue_date: date
    payer_name: str = Field(min_length=1, max_length=30)
    hospital_name: str = Field(min_length=2, max_length=60)
    visit_type: Literal["outpatient", "inpatient"]
    institution_level: Literal["primary", "secondary", "tertiary"]
    care_region_code: str = Field(pattern=r"^[0-9]{6}$")
    total_amount: str = Field(pattern=_MONEY)
    self_expense: str = Field(default="0.00", pattern=_MONEY)
    fund_paid: str = Field(default="0.00", pattern=_MONEY)
    other_paid: str = Field(default="0.00", pattern=_MONEY)
    # The item lines; None keeps the lines confirmed before, else the lines OCR read.
    items: list[ItemValues] | None = Field(default=None, max_length=200)

    @field_validator("total_amount", "self_expense", "fund_paid", "other_paid")
    @classmethod
    def _two_decimals(cls, value: str) -> str:
        return f"{Decimal(value):.2f}"

    @model_validator(mode="after")
    def _items_within_total(self) -> InvoiceValues:
        if self.items and sum(Decimal(i.amount) for i in self.items) > Decimal(self.total_amount):
            raise ValueError("items: the item amounts add up to more than total_amount")
        return self

    def plain(self) -> dict[str, Any]:
        out = self.model_dump()
        out["issue_date"] = self.issue_date.isoformat()
        return out


def province_region(invoice_code: str | None) -> str | None:
    """The province in a receipt code (its first two digits, the issuing finance office)."""
    if invoice_code and re.match(r"^[1-8][0-9]", invoice_code):
        return invoice_code[:2] + "0000"
    return None


def proposed_region(invoice_code: str | None, insured_region: str) -> str | None:
    """Same province as the insured region: the insured city (a reviewer refines it);
    otherwise the province of the code."""
    province = province_region(invoice_code)
    if province is None:
        return None
    return insured_region if province[:2] == insured_region[:2] else province


def amount_fen(value: Any) -> int | None:
    try:
        amount = Decimal(str(value))
    except Exception:
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).to_integral_value())


def value_checks(
    values: dict[str, Any],
    *,
    insured_name: str,
    submitted_on: date,
    policy: ReimbursementPolicy,
) -> list[Flag]:
    """Payer name, claim window, fund already paid, missing values."""
    flags: list[Flag] = []
    missing = [
        k
        for k in ("invoice_code", "invoice_number", "issue_date", "payer_name", "total_amount")
        if values.get(k) in (None, "")
    ]
    if missing:
        flags.append(flag("FIELDS_MISSING", "票据关键信息未识别，请人工核对录入", blocking=True))
    payer = values.get("payer_name")
    if payer and payer.strip() != insured_name.strip():
        flags.append(flag("PAYER_MISMATCH", "票据交款人与参保人姓名不一致", blocking=True))
    issued = values.get("issue_date")
    if issued:
        try:
            day = date.fromisoformat(str(issued))
        except ValueError:
            day = None
        if day is None:
            flags.append(flag("DATE_INVALID", "票据日期无法识别", blocking=True))
        elif day > submitted_on:
            flags.append(flag("DATE_IN_FUTURE", "票据日期晚于申请日期", blocking=True))
        elif day < submitted_on - timedelta(days=policy.claim_window_days):
            flags.append(
                flag(
                    "OUT_OF_WINDOW",
                    f"票据开具已超过{policy.claim_window_days}天的报销申请时限",
                    blocking=True,
                )
            )
    fund = amount_fen(values.get("fund_paid"))
    if fund is not None and fund > 0:
        flags.append(
            flag(
                "FUND_PAID",
                "该票据已有统筹基金支付，可能已在医院结算，已支付部分不再报销，请核实",
            )
        )
    return flags


def reading_checks(proposal: dict[str, Any]) -> list[Flag]:
    """The OCR's own consistency checks that failed (capital vs numeric total and so on).
    The QR code is judged by :func:`qr_agreement`."""
    flags = []
    for name, check in (proposal.get("checks") or {}).items():
        if name == "qr":
            continue
        if isinstance(check, dict) and check.get("ok") is False:
            detail = str(check.get("detail") or name)[:80]
            flags.append(flag("READING_CHECK", f"识别结果校验未通过：{detail}"))
    return flags


_QR_LABELS = {
    "invoice_code": "票据代码",
    "invoice_number": "票据号码",
    "check_code": "校验码",
    "total_amount": "金额",
    "issue_date": "开票日期",
}


def qr_agreement(proposal: dict[str, Any] | None, values: dict[str, Any]) -> list[Flag]:
    """An e-invoice's QR code (decoded into ``proposal.checks.qr``) against the values: the
    QR code is issued with the invoice, so a value it contradicts blocks approval. Before a
    reviewer confirms, the values are the reading (an exact e-invoice keeps its printed text,
    so an edited file shows here); after, the confirmed values."""
    qr = ((proposal or {}).get("checks") or {}).get("qr") or {}
    differ = []
    for key, f in (qr.get("fields") or {}).items():
        want, got = (f or {}).get("qr"), values.get(key)
        if want is None or got in (None, ""):
            continue
        if key == "total_amount":
            same = amount_fen(want) == amount_fen(got)
        else:
            same = str(want).strip() == str(got).strip()
        if not same:
            differ.append(_QR_LABELS.get(key, key))
    if not differ:
        return []
    message = f"票据二维码与票面信息不一致（{'、'.join(differ)}），请核对原件"
    return [flag("QR_MISMATCH", message, blocking=True)]


def corrected(proposal_values: dict[str, Any], confirmed: dict[str, Any]) -> list[str]:
    """The OCR keys whose confirmed value differs from the machine's."""
    out = []
    for key in CONFIRMED_OCR_KEYS:
        machine, human = proposal_values.get(key), confirmed.get(key)
        if key in ("total_amount", "self_expense", "fund_paid", "other_paid"):
            same = amount_fen(machine) == amount_fen(human) if machine is not None else False
            if machine is None and amount_fen(human) == 0 and key != "total_amount":
                same = True  # nothing printed, nothing entered
        else:
            same = machine is not None and str(machine).strip() == str(human).strip()
        if not same:
            out.append(key)
    return out
