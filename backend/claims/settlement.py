"""One settlement across three schemes (一站式结算), in integer fen, explained in Chinese.

The invoices of a claim are settled in order of care date, each against the running
accumulations of its person-year (the year of the care date) and by the terms in force on its
care date (not on the day of the calculation: an invoice of December settled in January keeps
December's terms; care before the first version of a table uses that first version):

1. **基本医疗保险**: per invoice by ``calculation.calculate_invoice``, limited by the yearly cap
   (年度最高支付限额) less what basic insurance already paid that year.
2. **大病保险**: what is left to the person inside the policy range after basic insurance
   (合规费用: deductible, co-payment, anything over the basic cap) accumulates over the year;
   the part of the accumulation above the threshold is paid band by band. This invoice's
   payment is F(after) − F(before), F the banded amount of an accumulation, so crossing the
   threshold inside one claim or across two gives the same total. Assisted groups get the
   preferential terms (lower threshold, higher ratios, no cap). Visit types not covered
   (ordinary outpatient care by default) add nothing.
3. **医疗救助**: for a person in an assisted category on the care date, the category's ratio
   of what is still left inside the policy range, up to its yearly cap.

:class:`Accumulated` is what a person-year had before this claim; ``Settlement.increments``
is what this claim adds, which the approval stores under a row lock.
Pure functions over the policy tables; no database, no float.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from backend.claims.calculation import InvoiceFacts, InvoiceResult, calculate_invoice
from backend.claims.catalogue import ClassedItem
from backend.claims.money import percent, share, yuan
from config.policy import (
    CatastrophicInsurance,
    PolicyTable,
    ReimbursementPolicy,
    SettlementPolicy,
    Versioned,
)

V = TypeVar("V", bound=Versioned)


def in_force(table: PolicyTable[V], care_date: date) -> V:
    """The version of ``table`` in force on the care date; care before the first version (an
    old invoice still inside the claim window) takes the first version."""
    return table.at(max(care_date, table.versions[0].effective_from))


SCHEME_NAMES = {"basic": "基本医疗保险", "catastrophic": "大病保险", "assistance": "医疗救助"}


@dataclass(frozen=True)
class Accumulated:
    """One person's year: the policy-range amount and each scheme's payments (fen)."""

    in_range_fen: int = 0  # 政策范围内费用
    basic_paid_fen: int = 0
    catastrophic_base_fen: int = 0  # 大病保险合规费用
    catastrophic_paid_fen: int = 0
    assistance_paid_fen: int = 0

    def plus(self, other: Accumulated) -> Accumulated:
        return Accumulated(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def to_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Terms:
    """大病保险 terms for one person: threshold, band ratios, cap (None: no cap)."""

    threshold_fen: int
    bands: tuple[tuple[int | None, Decimal], ...]  # (upper end above threshold, ratio)
    cap_fen: int | None
    preferential: bool


def catastrophic_terms(policy: CatastrophicInsurance, category: str | None) -> Terms:
    pref = policy.preferential
    bands = tuple((b.up_to_fen, b.ratio) for b in policy.bands)
    if pref is None or category not in pref.categories:
        return Terms(policy.threshold_fen, bands, policy.yearly_cap_fen, False)
    return Terms(
        share(policy.threshold_fen, pref.threshold_factor),
        tuple((end, min(Decimal(1), ratio + pref.ratio_bonus)) for end, ratio in bands),
        None if pref.no_cap else policy.yearly_cap_fen,
        True,
    )


def banded(terms: Terms, accumulated_fen: int) -> int:
    """What 大病保险 pays on a year's accumulation: each band's part at its ratio."""
    total = 0
    lower = terms.threshold_fen
    for end, ratio in terms.bands:
        upper = None if end is None else terms.threshold_fen + end
        top = accumulated_fen if upper is None else min(accumulated_fen, upper)
        total += share(max(0, top - lower), ratio)
        if upper is None or accumulated_fen <= upper:
            break
        lower = upper
    return total


def describe_terms(terms: Terms) -> str:
    parts = []
    lower = 0
    for end, ratio in terms.bands:
        if end is None:
            span = f"{yuan(lower)}以上" if lower else "全部"
        else:
            span = f"{yuan(lower)}至{yuan(end)}" if lower else f"{yuan(end)}以内"
        parts.append(f"{span}{percent(ratio)}")
        lower = end or lower
    cap = "不设封顶线" if terms.cap_fen is None else f"年度最高支付{yuan(terms.cap_fen)}"
    pref = "（救助对象倾斜：起付线降低、比例提高）" if terms.preferential else ""
    return f"起付线{yuan(terms.threshold_fen)}，超过起付线的部分中{'、'.join(parts)}，{cap}{pref}"


@dataclass(frozen=True)
class InvoiceSettlement:
    basic: InvoiceResult
    items: tuple[ClassedItem, ...]  # each item with its class and how it was classed
    basic_fen: int  # after the yearly cap
    catastrophic_fen: int
    assistance_fen: int
    year: int
    lines: tuple[str, ...]
    policy_from: date  # the latest effective date of the terms applied

    def to_json(self) -> dict[str, Any]:
        return {
            **self.basic.to_json(),
            "items": [i.to_json() for i in self.items],
            "basic_fen": self.basic_fen,
            "catastrophic_fen": self.catastrophic_fen,
            "assistance_fen": self.assistance_fen,
            "year": self.year,
            "lines": list(self.lines),
            "policy_effective_from": self.policy_from.isoformat(),
        }


@dataclass(frozen=True)
class SchemeLine:
    scheme: str  # basic | catastrophic | assistance
    amount_fen: int
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "name": SCHEME_NAMES[self.scheme],
            "amount_fen": self.amount_fen,
            "amount": yuan(self.amount_fen),
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Settlement:
    invoices: tuple[InvoiceSettlement, ...]
    schemes: tuple[SchemeLine, ...]
    payable_fen: int
    unresolved: tuple[str, ...]  # items waiting for the reviewer's class
    before: dict[int, Accumulated]  # by year, before this claim
    increments: dict[int, Accumulated]  # by year, what this claim adds
    lines: tuple[str, ...]
    policy_from: str

    def to_json(self) -> dict[str, Any]:
        return {
            "invoices": [i.to_json() for i in self.invoices],
            "schemes": [s.to_json() for s in self.schemes],
            "payable_fen": self.payable_fen,
            "payable": yuan(self.payable_fen),
            "unresolved_items": list(self.unresolved),
            "accumulated_before": {str(y): a.to_json() for y, a in self.before.items()},
            "increments": {str(y): a.to_json() for y, a in self.increments.items()},
            "lines": list(self.lines),
            "policy_effective_from": self.policy_from,
        }


def _settle_one(
    basic_policy: ReimbursementPolicy,
    policy: SettlementPolicy,
    inv: InvoiceFacts,
    acc: Accumulated,
) -> tuple[InvoiceSettlement, Accumulated]:
    """One invoice against the running accumulation of its year; what it adds."""
    basic = calculate_invoice(basic_policy, inv)
    lines = list(basic.lines)
    basic_fen = min(basic.payable_fen, max(0, basic_policy.yearly_cap_fen - acc.basic_paid_fen))
    if basic_fen < basic.payable_fen:
        lines.append(
            f"基本医保年度最高支付限额{yuan(basic_policy.yearly_cap_fen)}，本年度已支付"
            f"{yuan(acc.basic_paid_fen)}，超出的{yuan(basic.payable_fen - basic_fen)}不予支付"
        )
    lines.append(f"基本医疗保险支付：{yuan(basic_fen)}")
    burden = max(0, basic.eligible_fen - basic_fen)  # left to the person inside the range

    cat = policy.catastrophic
    terms = catastrophic_terms(cat, inv.category)
    cat_base = burden if inv.visit_type in cat.visit_types else 0
    before, after = acc.catastrophic_base_fen, acc.catastrophic_base_fen + cat_base
    cat_fen = banded(terms, after) - banded(terms, before)
    if terms.cap_fen is not None:
        cat_fen = min(cat_fen, max(0, terms.cap_fen - acc.catastrophic_paid_fen))
    if inv.visit_type not in cat.visit_types:
        lines.append("大病保险：普通门诊费用不计入大病保险合规费用，支付0.00元")
    else:
        lines.append(
            f"大病保险：基本医保支付后政策范围内个人负担{yuan(cat_base)}，本年度累计合规费用由"
            f"{yuan(before)}增至{yuan(after)}；{describe_terms(terms)}；支付{yuan(cat_fen)}"
        )

    assist_fen = 0
    left = burden - cat_fen
    terms_a = policy.assistance.categories.get(inv.category or "")
    if terms_a is None:
        lines.append("医疗救助：就诊之日不属于医疗救助对象，支付0.00元")
    elif inv.visit_type not in policy.assistance.visit_types:
        lines.append("医疗救助：该就诊类型不在医疗救助范围内，支付0.00元")
    else:
        room = max(0, terms_a.yearly_cap_fen - acc.assistance_paid_fen)
        assist_fen = min(share(left, terms_a.ratio), room)
        lines.append(
            f"医疗救助（{inv.category_name or inv.category}）：大病保险后政策范围内个人负担"
            f"{yuan(left)} × {percent(terms_a.ratio)}，年度救助限额{yuan(terms_a.yearly_cap_fen)}"
            f"、本年度已救助{yuan(acc.assistance_paid_fen)}；支付{yuan(assist_fen)}"
        )
    added = Accumulated(basic.in_range_fen, basic_fen, cat_base, cat_fen, assist_fen)
    result = InvoiceSettlement(
        basic,
        inv.classed.items,
        basic_fen,
        cat_fen,
        assist_fen,
        inv.care_date.year,
        tuple(lines),
        max(basic_policy.effective_from, policy.effective_from),
    )
    return result, added


def settle(
    basic_table: PolicyTable[ReimbursementPolicy],
    table: PolicyTable[SettlementPolicy],
    invoices: list[InvoiceFacts],
    accumulated: dict[int, Accumulated],
) -> Settlement:
    """The claim's settlement: invoices in care-date order against their years' totals, each
    by the basic and settlement terms in force on its care date."""
    if not invoices:
        raise ValueError("a claim needs at least one invoice")
    running = {
        inv.care_date.year: accumulated.get(inv.care_date.year, Accumulated()) for inv in invoices
    }
    before = dict(running)
    added: dict[int, Accumulated] = {year: Accumulated() for year in running}
    results = []
    for inv in sorted(invoices, key=lambda i: i.care_date):
        basic_policy = in_force(basic_table, inv.care_date)
        policy = in_force(table, inv.care_date)
        result, plus = _settle_one(basic_policy, policy, inv, running[inv.care_date.year])
        running[result.year] = running[result.year].plus(plus)
        added[result.year] = added[result.year].plus(plus)
        results.append(result)
    totals = {
        "basic": sum(r.basic_fen for r in results),
        "catastrophic": sum(r.catastrophic_fen for r in results),
        "assistance": sum(r.assistance_fen for r in results),
    }
    caps = "、".join(
        sorted({yuan(in_force(basic_table, i.care_date).yearly_cap_fen) for i in invoices})
    )
    rules = {
        "basic": "按就诊之日施行的就诊类型和医疗机构等级的起付标准、报销比例计算，"
        f"年度最高支付限额{caps}",
        "catastrophic": "基本医保支付后的政策范围内个人负担按年度累计，超过起付线的部分分段支付",
        "assistance": "救助对象大病保险后的政策范围内个人负担按其类别的比例救助，设年度救助限额",
    }
    schemes = tuple(SchemeLine(k, v, rules[k]) for k, v in totals.items())
    unresolved = tuple(n for inv in invoices for n in inv.classed.unresolved)
    lines: list[str] = []
    for r in results:
        lines.extend(r.lines)
    lines.append("一站式结算：")
    lines.extend(f"{SCHEME_NAMES[s.scheme]}：{yuan(s.amount_fen)}（{s.rule}）" for s in schemes)
    if unresolved:
        lines.append(f"有{len(unresolved)}个项目待审核人员归类，归类后重新计算")
    payable = sum(totals.values())
    lines.append(f"本次报销金额：{yuan(payable)}")
    return Settlement(
        invoices=tuple(results),
        schemes=schemes,
        payable_fen=payable,
        unresolved=unresolved,
        before=before,
        increments=added,
        lines=tuple(lines),
        policy_from=max(r.policy_from for r in results).isoformat(),
    )
