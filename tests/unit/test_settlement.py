"""Settlement tables: items of each class against the catalogue, basic insurance, 大病保险
crossing its threshold within one claim and across two, 医疗救助 up to its cap, a claim
spanning the basic yearly cap, and the policy tables' start-up validation. Integer fen."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backend.claims.calculation import InvoiceFacts
from backend.claims.catalogue import InvoiceItem, classify
from backend.claims.settlement import Accumulated, banded, catastrophic_terms, settle
from config.policy import POLICY_DIR, PolicyError, load_policies

POLICIES = load_policies()
DAY = date(2025, 9, 26)
BASIC = POLICIES.reimbursement.at(DAY)  # inpatient tertiary: deductible 1000.00, 65 %
SCHEMES = POLICIES.settlement.at(DAY)  # 大病 threshold 15000.00; bands 60/70/80 %
CATALOGUE = POLICIES.catalogue.at(DAY)
AMOXICILLIN = "XJ01CAM774P370643304452"  # 阿莫西林胶囊, 甲类


def items_of(*rows: tuple[str, int], **kw) -> list[InvoiceItem]:
    return [InvoiceItem(name, fen, **kw) for name, fen in rows]


def stay(total: int, *, on: date = date(2025, 9, 1), category: str | None = None, **kw):
    """A tertiary-hospital stay, every fen inside the policy range (no items, nothing self)."""
    classed = classify(CATALOGUE, [], total_fen=total, self_expense_fen=0, split_printed=True)
    return InvoiceFacts(
        "住院", "inpatient", "tertiary", on, total, classed, category=category, **kw
    )


# -- items against the catalogue ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "item_class", "eligible"),
    [
        ("阿莫西林胶囊", "jia", 10_000),  # 甲类: all of it
        ("阿托伐他汀钙片（10mg*7片）", "yi", 9_000),  # 乙类: less 10 % 先行自付, name with spec
        ("奥利司他胶囊", "bing", 0),  # 丙类: none
        ("复合维生素片", "zifei", 0),  # 自费: none
    ],
)
def test_each_class_by_the_catalogue(name: str, item_class: str, eligible: int):
    classed = classify(
        CATALOGUE,
        items_of((name, 10_000)),
        total_fen=10_000,
        self_expense_fen=0,
        split_printed=False,
    )
    (item,) = classed.items
    assert (item.item_class, item.source, classed.eligible_fen) == (item_class, "name", eligible)
    assert classed.unresolved == ()


def test_an_invoice_of_every_class_is_explained_per_class():
    rows = [
        InvoiceItem("阿莫西林", 10_000, code=AMOXICILLIN),  # by code, whatever the name
        InvoiceItem("阿托伐他汀钙片", 20_000),  # 乙类: 20.00 先行自付
        InvoiceItem("奥利司他胶囊", 5_000),  # 丙类
        InvoiceItem("复合维生素片", 3_000),  # 自费
        InvoiceItem("院内制剂消痔膏", 4_000, reviewer_class="jia"),  # unknown, reviewer: 甲类
        InvoiceItem("某某自制膏方", 7_000),  # unknown: the printed split decides
    ]
    # printed 个人自费 100.00: 80.00 are the 丙类 and 自费 items, so 20.00 of the unknown item
    classed = classify(
        CATALOGUE, rows, total_fen=49_000, self_expense_fen=10_000, split_printed=True
    )
    assert [(i.item_class, i.source) for i in classed.items] == [
        ("jia", "code"),
        ("yi", "name"),
        ("bing", "name"),
        ("zifei", "name"),
        ("jia", "reviewer"),
        (None, "split"),
    ]
    assert classed.eligible_fen == 10_000 + 18_000 + 4_000 + 5_000
    lines = "\n".join(classed.lines)
    assert "甲类项目 阿莫西林100.00元、院内制剂消痔膏40.00元，合计140.00元" in lines
    assert "全额纳入政策范围内费用" in lines
    assert "先行自付10%共20.00元，其余180.00元纳入政策范围内费用" in lines
    assert "丙类项目不纳入基本医保支付范围" in lines and "自费项目不纳入" in lines
    assert "按票据的个人自费划分，其中20.00元为自费，50.00元纳入政策范围内费用" in lines
    assert classed.lines[-1] == "政策范围内费用：370.00元"
    facts = InvoiceFacts("票据1", "outpatient", "primary", DAY, 49_000, classed)
    result = settle(BASIC, SCHEMES, [facts], {})
    assert result.payable_fen == 22_200  # 370.00 × 60 %, no deductible; outpatient: no 大病


def test_unknown_items_without_a_printed_split_wait_for_the_reviewer():
    classed = classify(
        CATALOGUE,
        items_of(("阿莫西林胶囊", 6_000), ("进口特需敷料", 4_000)),
        total_fen=12_000,
        self_expense_fen=0,
        split_printed=False,
    )
    # the 20.00 not itemised is a remainder line, like an item the catalogue does not know
    assert classed.unresolved == ("进口特需敷料", "票据未列明的费用")
    assert classed.eligible_fen == 6_000
    facts = InvoiceFacts("票据1", "outpatient", "primary", DAY, 12_000, classed)
    result = settle(BASIC, SCHEMES, [facts], {})
    assert result.unresolved == classed.unresolved
    assert "有2个项目待审核人员归类，归类后重新计算" in result.lines


def test_the_catalogue_in_force_on_the_care_date_decides():
    albumin = "XB05AAG890V317110198871"  # 人血白蛋白: 乙类, 先行自付 10 % then 20 % from 2026
    before = POLICIES.catalogue.at(date(2025, 12, 31))
    after = POLICIES.catalogue.at(date(2026, 1, 1))
    assert before.self_pay_ratio(before.items[albumin]) == Decimal("0.10")
    assert after.self_pay_ratio(after.items[albumin]) == Decimal("0.20")
    assert before.find(None, "龟苓膏")[0] is not None and after.find(None, "龟苓膏")[0] is None
    assert after.find(None, "伏美替尼片")[0] is not None and len(after.items) == len(before.items)


# -- 大病保险 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accumulated", "paid"),
    [
        (1_500_000, 0),  # at the threshold: nothing
        (1_500_001, 1),  # one fen above: 0.6 fen rounds to 1
        (6_500_000, 3_000_000),  # top of band 1: 50000.00 × 60 %
        (11_500_000, 6_500_000),  # top of band 2: + 50000.00 × 70 %
        (12_500_000, 7_300_000),  # into band 3: + 10000.00 × 80 %
    ],
)
def test_catastrophic_bands(accumulated: int, paid: int):
    assert banded(catastrophic_terms(SCHEMES.catastrophic, None), accumulated) == paid


def test_crossing_the_threshold_within_one_claim():
    # 60000.00: basic (60000 − 1000) × 65 % = 38350.00; left 21650.00; 6650.00 above × 60 %
    result = settle(BASIC, SCHEMES, [stay(6_000_000)], {})
    assert [s.amount_fen for s in result.schemes] == [3_835_000, 399_000, 0]
    assert result.payable_fen == 4_234_000
    assert result.increments[2025].catastrophic_base_fen == 2_165_000
    assert any("累计合规费用由0.00元增至21,650.00元" in line for line in result.lines)
    assert any("超过起付线的部分中50,000.00元以内60%" in line for line in result.lines)


def test_crossing_the_threshold_across_two_claims_pays_the_same_as_one():
    # each 30000.00: basic 18850.00, left 11150.00; together 22300.00, 7300.00 above × 60 %
    first = settle(BASIC, SCHEMES, [stay(3_000_000)], {})
    assert first.schemes[1].amount_fen == 0  # 11150.00 is under the threshold
    year = first.increments[2025]
    second = settle(BASIC, SCHEMES, [stay(3_000_000, on=date(2025, 10, 1))], {2025: year})
    assert second.schemes[1].amount_fen == 438_000
    both = settle(BASIC, SCHEMES, [stay(3_000_000), stay(3_000_000, on=date(2025, 10, 1))], {})
    assert both.schemes[1].amount_fen == 438_000
    assert both.payable_fen == first.payable_fen + second.payable_fen


def test_catastrophic_yearly_cap():
    spent = Accumulated(catastrophic_base_fen=80_000_000, catastrophic_paid_fen=39_900_000)
    result = settle(BASIC, SCHEMES, [stay(6_000_000)], {2025: spent})
    assert result.schemes[1].amount_fen == 100_000  # 400000.00 cap, 399000.00 already paid


# -- 医疗救助 -------------------------------------------------------------------------------------


def test_assisted_person_gets_preferential_catastrophic_terms_and_assistance():
    # 低保: threshold 7500.00, ratios +5 points, no cap; assistance 70 %, cap 50000.00
    result = settle(
        BASIC, SCHEMES, [stay(6_000_000, category="dibao", category_name="低保对象")], {}
    )
    basic, cat, assist = (s.amount_fen for s in result.schemes)
    assert basic == 3_835_000
    assert cat == 919_750  # (21650.00 − 7500.00) × 65 %
    assert assist == 871_675  # (21650.00 − 9197.50) × 70 %
    assert result.payable_fen == 5_626_425
    assert any(line.startswith("医疗救助（低保对象）") for line in result.lines)
    assert [s.to_json()["name"] for s in result.schemes] == ["基本医疗保险", "大病保险", "医疗救助"]


def test_assistance_up_to_its_yearly_cap_within_one_claim():
    # two stays of a 低保 person in one claim with 45000.00 already given this year
    before = {2025: Accumulated(assistance_paid_fen=4_500_000)}
    claim = [
        stay(6_000_000, category="dibao"),  # would be 8716.75: only 5000.00 is left
        stay(1_000_000, on=date(2025, 11, 2), category="dibao"),  # nothing left
    ]
    result = settle(BASIC, SCHEMES, claim, before)
    assert [i.assistance_fen for i in result.invoices] == [500_000, 0]
    assert result.increments[2025].assistance_paid_fen == 500_000
    assert any(
        "年度救助限额50,000.00元、本年度已救助45,000.00元；支付5,000.00元" in line
        for line in result.lines
    )


def test_no_assistance_outside_an_assisted_category():
    result = settle(BASIC, SCHEMES, [stay(6_000_000)], {})
    assert result.schemes[2].amount_fen == 0
    assert "医疗救助：就诊之日不属于医疗救助对象，支付0.00元" in result.lines


# -- the basic yearly cap and the years -------------------------------------------------------


def test_a_claim_spanning_the_basic_yearly_cap():
    # 390000.00 paid this year: 10000.00 of the 38350.00 is left; 大病 takes the rest in range
    before = {2025: Accumulated(basic_paid_fen=39_000_000)}
    result = settle(BASIC, SCHEMES, [stay(6_000_000)], before)
    basic, cat, _ = (s.amount_fen for s in result.schemes)
    assert basic == 1_000_000
    assert any("超出的28,350.00元不予支付" in line for line in result.lines)
    # left to the person: 60000.00 − 10000.00 = 50000.00; 35000.00 above the threshold × 60 %
    assert cat == 2_100_000
    assert result.increments[2025].basic_paid_fen == 1_000_000


def test_invoices_of_two_years_count_against_their_own_years():
    full = {2025: Accumulated(basic_paid_fen=40_000_000)}  # 2025 used up
    result = settle(
        BASIC,
        SCHEMES,
        [stay(3_000_000, on=date(2025, 12, 30)), stay(3_000_000, on=date(2026, 1, 3))],
        full,
    )
    assert [i.basic_fen for i in result.invoices] == [0, 1_885_000]
    assert set(result.increments) == {2025, 2026}
    assert result.increments[2026].basic_paid_fen == 1_885_000


# -- the tables at start-up ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("catalogue.yaml", "code: 'XJ01CAM774P370643304452'", "code: 'XJ01'", "national shape"),
        (
            "catalogue.yaml",
            "name: 阿莫西林胶囊, kind: drug, class: jia",
            "name: 阿莫西林胶囊, kind: drug, class: jia, self_pay_ratio: '0.1'",
            "乙类",
        ),
        (
            "catalogue.yaml",
            "- ZL23EBC3440273673542",
            "- ZL23EBC3440273673543",
            "not in the catalogue",
        ),
        ("settlement.yaml", "dibao:         {ratio", "xiaokang:      {ratio", "xiaokang"),
        ("settlement.yaml", "up_to_fen: 10000000", "up_to_fen: 4000000", "ascend"),
    ],
)
def test_bad_tables_stop_start_up(tmp_path: Path, file: str, old: str, new: str, message: str):
    directory = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, directory)
    text = (directory / file).read_text(encoding="utf-8")
    assert old in text
    (directory / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policies(directory)
