"""Basic insurance (基本医疗保险) for one invoice, in integer fen, explained line by line in
Chinese. The first of the three schemes of the settlement (``settlement.py``).

Per invoice (one visit or one hospital stay):

1. the policy-range amount (政策范围内费用) from the items classed against the catalogue
   (``catalogue.py``; an invoice read without items is decided by its printed split);
2. less what the fund and other payers already paid at the hospital (统筹基金、其他支付),
   never below zero;
3. minus the deductible (起付标准) for the visit type and institution level, at most that;
4. times the ratio (报销比例) for the visit type and institution level, rounded half-up to the
   fen. Care outside the insured region: with a remote-care filing the filing's adjustment
   applies (``FilingEffect``); without one the ratio is lowered by the configured reduction.

The yearly cap is applied by the settlement, against the person's accumulated payments.
Pure functions over :class:`config.policy.ReimbursementPolicy`; no database, no float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backend.claims.catalogue import ClassedInvoice
from backend.claims.money import percent, share, yuan
from config.policy import ReimbursementPolicy

VISIT_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
LEVEL_LABELS = {"primary": "一级及以下", "secondary": "二级", "tertiary": "三级"}


@dataclass(frozen=True)
class RemoteCare:
    """Where the care was relative to the insured region, and the filing for it."""

    outside: bool = False
    filed: bool = False
    ratio_adjustment: Decimal = Decimal("0")  # the filing's adjustment (may be negative)
    note: str = ""  # e.g. the filing type, shown in the explanation


@dataclass(frozen=True)
class InvoiceFacts:
    label: str  # e.g. "票据1 某某医院 2025-09-01"
    visit_type: str  # outpatient | inpatient
    level: str  # primary | secondary | tertiary
    care_date: date  # the year's accumulations and the assisted category go by it
    total_fen: int
    classed: ClassedInvoice  # the items (or the whole invoice) against the catalogue
    fund_paid_fen: int = 0
    other_paid_fen: int = 0
    remote: RemoteCare = field(default_factory=RemoteCare)
    category: str | None = None  # the assisted category (救助类别) on the care date
    category_name: str = ""


@dataclass(frozen=True)
class InvoiceResult:
    label: str
    in_range_fen: int  # 政策范围内费用
    eligible_fen: int  # what basic insurance reckons with: in range less paid at the hospital
    deductible_fen: int
    ratio: Decimal
    payable_fen: int
    lines: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "in_range_fen": self.in_range_fen,
            "eligible_fen": self.eligible_fen,
            "deductible_fen": self.deductible_fen,
            "ratio": str(self.ratio),
            "payable_fen": self.payable_fen,
            "lines": list(self.lines),
        }


def effective_ratio(base: Decimal, remote: RemoteCare) -> Decimal:
    if not remote.outside:
        return base
    return min(max(base + remote.ratio_adjustment, Decimal("0")), Decimal("1"))


def calculate_invoice(policy: ReimbursementPolicy, inv: InvoiceFacts) -> InvoiceResult:
    if inv.visit_type not in VISIT_LABELS or inv.level not in LEVEL_LABELS:
        raise ValueError(f"unknown visit type or level: {inv.visit_type}/{inv.level}")
    if min(inv.total_fen, inv.fund_paid_fen, inv.other_paid_fen) < 0:
        raise ValueError("amounts must not be negative")
    terms = policy.terms[inv.visit_type][inv.level]  # type: ignore[index]
    kind = f"{LEVEL_LABELS[inv.level]}医疗机构{VISIT_LABELS[inv.visit_type]}"
    lines = [f"{inv.label}（{kind}）", f"票据总金额：{yuan(inv.total_fen)}"]
    lines.extend(inv.classed.lines)
    in_range = inv.classed.eligible_fen
    if inv.fund_paid_fen:
        lines.append(f"减 统筹基金已支付：{yuan(inv.fund_paid_fen)}")
    if inv.other_paid_fen:
        lines.append(f"减 其他已支付：{yuan(inv.other_paid_fen)}")
    eligible = max(0, in_range - inv.fund_paid_fen - inv.other_paid_fen)
    lines.append(f"可报销费用：{yuan(eligible)}")
    deductible = min(eligible, terms.deductible_fen)
    lines.append(f"减 起付标准（{kind}）：{yuan(deductible)}")
    if deductible < terms.deductible_fen:
        lines.append(f"（起付标准为{yuan(terms.deductible_fen)}，可报销费用未超过起付标准）")
    base = eligible - deductible
    ratio = effective_ratio(terms.ratio, inv.remote)
    payable = share(base, ratio)
    if inv.remote.outside and not inv.remote.filed:
        lines.append(f"异地就医未办理备案，报销比例由{percent(terms.ratio)}调整为{percent(ratio)}")
    elif inv.remote.outside and ratio != terms.ratio:
        lines.append(
            f"异地就医已备案{('（' + inv.remote.note + '）') if inv.remote.note else ''}，"
            f"报销比例调整为{percent(ratio)}"
        )
    lines.append(f"进入报销部分{yuan(base)} × 报销比例{percent(ratio)} = {yuan(payable)}")
    return InvoiceResult(inv.label, in_range, eligible, deductible, ratio, payable, tuple(lines))
