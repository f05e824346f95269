"""Capital-amount conversion and the consistency checks (Decimal only)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocr.checks import (
    amount_to_upper,
    check_items_sum,
    check_payments,
    check_upper_matches_total,
    run_checks,
    to_decimal,
    upper_to_amount,
)


@pytest.mark.parametrize(
    ("amount", "upper"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("10.05", "壹拾元零伍分"),
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("110.10", "壹佰壹拾元零壹角"),
        ("123.45", "壹佰贰拾叁元肆角伍分"),
        ("1000.50", "壹仟元零伍角"),
        ("1001", "壹仟零壹元整"),
        ("1023.05", "壹仟零贰拾叁元零伍分"),
        ("3.60", "叁元陆角"),
        ("20000.30", "贰万元零叁角"),
        ("100000", "壹拾万元整"),
        ("105000", "壹拾万伍仟元整"),
        ("1010000", "壹佰零壹万元整"),
        ("100000000", "壹亿元整"),
    ],
)
def test_amount_to_upper_and_back(amount: str, upper: str) -> None:
    assert amount_to_upper(Decimal(amount)) == upper
    assert upper_to_amount(upper) == Decimal(amount).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("壹佰贰拾叁元肆角伍分", "123.45"),
        ("伍角整", "0.50"),  # 整 after 角 is allowed
        ("壹仟元伍角", "1000.50"),  # the 零 may be left out
        ("壹佰圆整", "100.00"),  # 圆 for 元
        ("拾元整", "10.00"),  # leading 壹 omitted
        ("人民币壹拾元零伍分", "10.05"),
        ("壹佰零壹万元正", "1010000.00"),
    ],
)
def test_upper_to_amount_is_lenient(text: str, amount: str) -> None:
    assert upper_to_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "壹佰贰拾叁", "123.45元", "壹佰元伍角伍角"])
def test_upper_to_amount_rejects_non_amounts(text: str) -> None:
    assert upper_to_amount(text) is None


def test_money_is_never_float() -> None:
    with pytest.raises(TypeError):
        to_decimal(1.1)
    assert to_decimal("¥1,234.5") == Decimal("1234.50")


def test_upper_check() -> None:
    assert check_upper_matches_total("壹佰贰拾叁元肆角伍分", "123.45").ok is True
    assert check_upper_matches_total("壹佰贰拾叁元肆角", "123.45").ok is False
    assert check_upper_matches_total("喜佰贰拾叁元", "123.00").ok is False  # OCR misread
    assert check_upper_matches_total(None, "123.45").ok is None


def test_items_sum_check() -> None:
    items = [{"name": "西药费", "amount": "56.80"}, {"name": "检查费", "amount": "66.65"}]
    assert check_items_sum(items, "123.45").ok is True
    assert check_items_sum(items, "123.46").ok is False
    assert check_items_sum([], "123.45").ok is None
    assert check_items_sum([{"name": "x", "amount": "5.x"}], "5.00").ok is False


def test_payments_check() -> None:
    values = {
        "total_amount": "100.00",
        "fund_paid": "60.00",
        "other_paid": "5.00",
        "personal_account_paid": "15.00",
        "personal_cash_paid": "20.00",
        "self_pay": "10.00",
        "self_expense": "5.00",
    }
    assert check_payments(values).ok is True
    assert check_payments({**values, "fund_paid": "60.01"}).ok is False
    # 其他支付 missing counts as zero
    no_other = {**values, "personal_cash_paid": "25.00"}
    del no_other["other_paid"]
    assert check_payments(no_other).ok is True
    # 自付 + 自费 cannot exceed what the person paid
    assert check_payments({**values, "self_expense": "30.00"}).ok is False
    assert check_payments({"total_amount": "1.00"}).ok is None


def test_run_checks_reports_every_check() -> None:
    result = run_checks({"invoice_code": "4401ABCD", "issue_date": "2024-02-30"})
    assert set(result) == {
        "upper_matches_total",
        "items_sum_matches_total",
        "payments_add_up",
        "formats_valid",
    }
    assert result["formats_valid"].ok is False
    assert "票据代码" in result["formats_valid"].detail
    assert "日期" in result["formats_valid"].detail
