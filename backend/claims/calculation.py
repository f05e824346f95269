"""The reimbursement calculation, in integer fen, with a line-by-line explanation in Chinese.

Per invoice (one visit or one hospital stay):

1. eligible = total − self-expense (自费, outside the catalogue) − what the fund and other
   payers already paid at the hospital (统筹基金、其他支付), never below zero;
2. minus the deductible (起付标准) for the visit type and institution level, at most the
   eligible amount;
3. times the ratio (报销比例) for the visit type and institution level, rounded half-up to the
   fen. Care outside the insured region: with a remote-care filing the filing's adjustment
   applies (``FilingEffect``); without one the ratio is lowered by the configured reduction.

Then the claim: the invoices' amounts are summed and limited by the yearly cap (年度最高支付限额)
less what was already paid out to the person that year.

Pure functions over :class:`config.policy.ReimbursementPolicy`; no database, no float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from config.policy import ReimbursementPolicy

VISIT_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
LEVEL_LABELS = {"primary": "一级及以下", "secondary": "二级", "tertiary": "三级"}


def yuan(fen: int) -> str:
    """``123456`` → ``1,234.56元`` (fen as integers only)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}元"


def to_fen(value: str | Decimal | None) -> int:
    """A decimal yuan string (``"12.30"``) in fen; refuses more than two decimals."""
    if value in (None, ""):
        return 0
    amount = Decimal(str(value))
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"not an amount in yuan: {value!r}")
    return int(amount * 100)


def percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.01')).normalize():f}%"


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
    total_fen: int
    self_expense_fen: int = 0
    fund_paid_fen: int = 0
    other_paid_fen: int = 0
    remote: RemoteCare = field(default_factory=RemoteCare)


@dataclass(frozen=True)
class InvoiceResult:
    label: str
    eligible_fen: int
    deductible_fen: int
    ratio: Decimal
    payable_fen: int
    lines: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "eligible_fen": self.eligible_fen,
            "deductible_fen": self.deductible_fen,
            "ratio": str(self.ratio),
            "payable_fen": self.payable_fen,
            "lines": list(self.lines),
        }


@dataclass(frozen=True)
class Calculation:
    invoices: tuple[InvoiceResult, ...]
    before_cap_fen: int
    cap_fen: int
    paid_this_year_fen: int
    payable_fen: int
    lines: tuple[str, ...]  # the whole explanation, in order
    policy_from: str

    def to_json(self) -> dict[str, Any]:
        return {
            "invoices": [i.to_json() for i in self.invoices],
            "before_cap_fen": self.before_cap_fen,
            "cap_fen": self.cap_fen,
            "paid_this_year_fen": self.paid_this_year_fen,
            "payable_fen": self.payable_fen,
            "payable": yuan(self.payable_fen),
            "lines": list(self.lines),
            "policy_effective_from": self.policy_from,
        }


def effective_ratio(base: Decimal, remote: RemoteCare) -> Decimal:
    if not remote.outside:
        return base
    return min(max(base + remote.ratio_adjustment, Decimal("0")), Decimal("1"))


def calculate_invoice(policy: ReimbursementPolicy, inv: InvoiceFacts) -> InvoiceResult:
    if inv.visit_type not in VISIT_LABELS or inv.level not in LEVEL_LABELS:
        raise ValueError(f"unknown visit type or level: {inv.visit_type}/{inv.level}")
    if min(inv.total_fen, inv.self_expense_fen, inv.fund_paid_fen, inv.other_paid_fen) < 0:
        raise ValueError("amounts must not be negative")
    terms = policy.terms[inv.visit_type][inv.level]  # type: ignore[index]
    kind = f"{LEVEL_LABELS[inv.level]}医疗机构{VISIT_LABELS[inv.visit_type]}"
    lines = [f"{inv.label}（{kind}）", f"票据总金额：{yuan(inv.total_fen)}"]
    if inv.self_expense_fen:
        lines.append(f"减 自费费用：{yuan(inv.self_expense_fen)}")
    if inv.fund_paid_fen:
        lines.append(f"减 统筹基金已支付：{yuan(inv.fund_paid_fen)}")
    if inv.other_paid_fen:
        lines.append(f"减 其他已支付：{yuan(inv.other_paid_fen)}")
    eligible = max(0, inv.total_fen - inv.self_expense_fen - inv.fund_paid_fen - inv.other_paid_fen)
    lines.append(f"可报销费用：{yuan(eligible)}")
    deductible = min(eligible, terms.deductible_fen)
    lines.append(f"减 起付标准（{kind}）：{yuan(deductible)}")
    if deductible < terms.deductible_fen:
        lines.append(f"（起付标准为{yuan(terms.deductible_fen)}，可报销费用未超过起付标准）")
    base = eligible - deductible
    ratio = effective_ratio(terms.ratio, inv.remote)
    payable = int((Decimal(base) * ratio).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if inv.remote.outside and not inv.remote.filed:
        lines.append(f"异地就医未办理备案，报销比例由{percent(terms.ratio)}调整为{percent(ratio)}")
    elif inv.remote.outside and ratio != terms.ratio:
        lines.append(
            f"异地就医已备案{('（' + inv.remote.note + '）') if inv.remote.note else ''}，"
            f"报销比例调整为{percent(ratio)}"
        )
    lines.append(f"进入报销部分{yuan(base)} × 报销比例{percent(ratio)} = {yuan(payable)}")
    return InvoiceResult(inv.label, eligible, deductible, ratio, payable, tuple(lines))


def calculate(
    policy: ReimbursementPolicy, invoices: list[InvoiceFacts], *, paid_this_year_fen: int
) -> Calculation:
    if not invoices:
        raise ValueError("a claim needs at least one invoice")
    results = tuple(calculate_invoice(policy, inv) for inv in invoices)
    before_cap = sum(r.payable_fen for r in results)
    remaining = max(0, policy.yearly_cap_fen - paid_this_year_fen)
    payable = min(before_cap, remaining)
    lines: list[str] = []
    for r in results:
        lines.extend(r.lines)
    lines.append(f"各票据合计应报销：{yuan(before_cap)}")
    lines.append(
        f"年度最高支付限额{yuan(policy.yearly_cap_fen)}，本年度已报销{yuan(paid_this_year_fen)}，"
        f"剩余额度{yuan(remaining)}"
    )
    if payable < before_cap:
        lines.append(f"超出年度最高支付限额的{yuan(before_cap - payable)}不予支付")
    lines.append(f"本次报销金额：{yuan(payable)}")
    return Calculation(
        invoices=results,
        before_cap_fen=before_cap,
        cap_fen=policy.yearly_cap_fen,
        paid_this_year_fen=paid_this_year_fen,
        payable_fen=payable,
        lines=tuple(lines),
        policy_from=policy.effective_from.isoformat(),
    )
