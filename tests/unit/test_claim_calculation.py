"""Basic insurance at its boundaries: deductible, ratio rounding, remote care, the yearly cap
counting what was already paid. Integer fen throughout."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.claims.calculation import InvoiceFacts, RemoteCare, calculate_invoice
from backend.claims.catalogue import classify
from backend.claims.money import to_fen, yuan
from backend.claims.settlement import Accumulated, settle
from config.policy import load_policies

DAY = date(2025, 9, 26)
POLICIES = load_policies()
POLICY = POLICIES.reimbursement.at(DAY)
# outpatient secondary: deductible 200.00, ratio 0.55; inpatient tertiary: 1000.00, 0.65


def invoice(visit: str, level: str, total: int, self_expense_fen: int = 0, **kw) -> InvoiceFacts:
    """An invoice read without items: its printed split decides."""
    classed = classify(
        POLICIES.catalogue.at(DAY),
        [],
        total_fen=total,
        self_expense_fen=self_expense_fen,
        split_printed=True,
    )
    return InvoiceFacts("票据1", visit, level, DAY, total, classed, **kw)


def outpatient(total: int, **kw) -> InvoiceFacts:
    return invoice("outpatient", "secondary", total, **kw)


def calculate(invoices: list[InvoiceFacts], *, paid_this_year_fen: int):
    before = {DAY.year: Accumulated(basic_paid_fen=paid_this_year_fen)}
    return settle(POLICIES.reimbursement, POLICIES.settlement, invoices, before)


def test_eligible_subtracts_self_expense_and_what_the_fund_paid():
    r = calculate_invoice(
        POLICY,
        outpatient(100_000, self_expense_fen=10_000, fund_paid_fen=30_000, other_paid_fen=5_000),
    )
    assert r.in_range_fen == 90_000 and r.eligible_fen == 55_000
    assert r.deductible_fen == 20_000
    assert r.payable_fen == 19_250  # (550 − 200) × 55 %


@pytest.mark.parametrize(
    ("total", "payable"),
    [
        (19_999, 0),  # below the deductible: nothing
        (20_000, 0),  # exactly the deductible: nothing
        (20_001, 1),  # one fen above: 0.55 fen rounds half-up to 1
        (20_002, 1),  # 1.10 → 1
        (20_100, 55),
    ],
)
def test_deductible_boundary(total: int, payable: int):
    r = calculate_invoice(POLICY, outpatient(total))
    assert r.payable_fen == payable
    assert r.deductible_fen == min(total, 20_000)


def test_deductible_never_exceeds_eligible_and_is_explained():
    r = calculate_invoice(POLICY, outpatient(15_000))
    assert (r.eligible_fen, r.deductible_fen, r.payable_fen) == (15_000, 15_000, 0)
    assert any("未超过起付标准" in line for line in r.lines)


def test_fund_paid_more_than_total_gives_zero_not_negative():
    r = calculate_invoice(POLICY, outpatient(10_000, fund_paid_fen=12_000))
    assert r.eligible_fen == 0 and r.payable_fen == 0


def test_remote_care_without_filing_gets_the_lower_rate():
    local = calculate_invoice(POLICY, outpatient(120_000))
    unfiled = RemoteCare(outside=True, ratio_adjustment=Decimal("-0.20"))  # remote_care.yaml
    remote = calculate_invoice(POLICY, outpatient(120_000, remote=unfiled))
    assert local.ratio == Decimal("0.55") and remote.ratio == Decimal("0.35")
    assert remote.payable_fen == 35_000  # (1200 − 200) × 35 %
    assert any("未办理备案" in line for line in remote.lines)
    filed = calculate_invoice(
        POLICY,
        outpatient(
            120_000,
            remote=RemoteCare(outside=True, filed=True, ratio_adjustment=Decimal("-0.05")),
        ),
    )
    assert filed.ratio == Decimal("0.50") and filed.payable_fen == 50_000


@pytest.mark.parametrize(
    ("already", "payable"),
    [
        (0, 1_950_000),  # well under the cap
        (40_000_000 - 1_950_000, 1_950_000),  # exactly reaches the cap
        (40_000_000 - 1_949_999, 1_949_999),  # one fen over: cut by one fen
        (40_000_000, 0),  # cap already used up
        (40_000_100, 0),  # over it (policy lowered): never negative
    ],
)
def test_yearly_cap_counts_payouts_already_made(already: int, payable: int):
    inv = invoice("outpatient", "tertiary", 3_950_000)  # (39500 − 500) × 50 %; no 大病
    result = calculate([inv], paid_this_year_fen=already)
    assert result.invoices[0].basic.payable_fen == 1_950_000
    assert result.payable_fen == payable
    assert result.lines[-1] == f"本次报销金额：{yuan(payable)}"
    if payable < 1_950_000:
        assert any("不予支付" in line for line in result.lines)


def test_several_invoices_each_have_their_deductible():
    a = invoice("outpatient", "primary", 10_000)  # no deductible, 60 %
    b = outpatient(30_000)  # (300 − 200) × 55 %
    result = calculate([a, b], paid_this_year_fen=0)
    assert [i.basic_fen for i in result.invoices] == [6_000, 5_500]
    assert result.payable_fen == 11_500
    assert result.to_json()["payable"] == "115.00元"


def test_money_is_never_float():
    assert to_fen("12.30") == 1230 and to_fen(None) == 0
    with pytest.raises(ValueError):
        to_fen("1.005")
    assert yuan(123456789) == "1,234,567.89元"
    r = calculate_invoice(POLICY, outpatient(99_999))
    assert isinstance(r.payable_fen, int)
