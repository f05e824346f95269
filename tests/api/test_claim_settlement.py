"""The settlement through the review API: items read by OCR classed against the catalogue, an
item the catalogue does not know held until the reviewer classes it, the settlement previewed
without saving, and 医疗救助 for a person assisted on the date of care."""
# ruff: noqa: F811  (the api, ppl and reader fixtures are imported, then requested by name)

from __future__ import annotations

from datetime import date

from backend.claims.models import Claim, Disbursement, SettlementYear
from backend.enrollment.models import Enrollment, EnrollmentStatus, PersonCategory
from tests.claim_helpers import (
    confirmation,
    decide,
    in_review_confirmed,
    ppl,  # noqa: F401  (fixture)
    reader,  # noqa: F401  (fixture)
    receipt_values,
)

ITEMS = [
    {"name": "阿莫西林胶囊", "amount": "300.00"},  # 甲类
    {"name": "阿托伐他汀钙片", "amount": "200.00"},  # 乙类, 10 % 先行自付
    {"name": "复合维生素片", "amount": "100.00"},  # 自费
    {"name": "院内制剂消痔膏", "amount": "400.00"},  # not in the catalogue
]


async def test_an_item_is_classed_by_the_national_code_printed_beside_it(api, ppl, c, reader):
    # a brand name the catalogue does not list, with the code of 阿莫西林胶囊 (甲类) printed
    items = [{"name": "阿莫仙", "amount": "1000.00", "code": "XJ01CAM774P370643304452"}]
    review, _, _ = await in_review_confirmed(
        api, ppl, c, reader, 77, {**receipt_values(), "items": items}
    )
    assert review["open_items"] == []
    (item,) = review["calculation"]["invoices"][0]["items"]
    assert (item["item_class"], item["source"], item["eligible_fen"]) == ("jia", "code", 100_000)
    assert item["code"] == "XJ01CAM774P370643304452"


async def test_unknown_item_waits_for_the_reviewer_then_the_settlement_is_paid(api, ppl, c, reader):
    values = {**receipt_values(), "items": ITEMS}  # no split printed: fund_paid etc. absent
    for key in ("self_expense", "fund_paid", "other_paid"):
        values.pop(key)
    review, case, task = await in_review_confirmed(api, ppl, c, reader, 71, values)
    claim_id, inv_id = review["id"], review["invoices"][0]["id"]
    assert review["open_items"] == [
        "项目「院内制剂消痔膏」目录未收录且票据未打印费用划分，请审核人员归类"
    ]
    await decide(api, ppl.reviewer, task, case["id"], expect=409)
    items = review["invoices"][0]["confirmed"]["items"]
    assert [i["name"] for i in items] == [i["name"] for i in ITEMS]

    # what the console shows while the reviewer tries a value: computed, not saved
    body = {**confirmation(values), "items": [*ITEMS[:3], {**ITEMS[3], "item_class": "zifei"}]}
    path = f"/review/claims/{claim_id}/invoices/{inv_id}/settlement-preview"
    preview = (await api.call("post", path, ppl.reviewer, json=body)).json["settlement"]
    # in range: 300.00 + 180.00 = 480.00 × 60 % (primary outpatient, no deductible)
    assert preview["payable_fen"] == 28_800 and preview["unresolved_items"] == []
    assert (await Claim.get(id=claim_id)).calculation["unresolved_items"] == ["院内制剂消痔膏"]
    await api.call("post", path, ppl.citizen, json=body, expect=403)

    # the reviewer classes it 甲类: 880.00 × 60 %
    items = f"/review/claims/{claim_id}/invoices/{inv_id}/items"
    path = f"{items}/3/class"
    review = (await api.call("put", path, ppl.reviewer, json={"item_class": "jia"})).json
    assert review["open_items"] == []
    calc = review["calculation"]
    assert calc["payable_fen"] == 52_800
    assert [s["amount_fen"] for s in calc["schemes"]] == [52_800, 0, 0]
    classed = [
        (i["item_class"], i["source"], i["eligible_fen"]) for i in calc["invoices"][0]["items"]
    ]
    assert classed == [
        ("jia", "name", 30_000),
        ("yi", "name", 18_000),
        ("zifei", "name", 0),
        ("jia", "reviewer", 40_000),
    ]
    lines = "\n".join(calc["lines"])
    assert "甲类项目 阿莫西林胶囊300.00元、院内制剂消痔膏400.00元，合计700.00元" in lines
    assert "审核人员归类" in lines and "按目录名称匹配" in lines
    assert "自费项目 复合维生素片100.00元" in lines
    bad = await api.call(
        "put", f"{items}/9/class", ppl.reviewer, json={"item_class": "jia"}, expect=404
    )
    assert bad.json["error"]["code"] == "ITEM_NOT_FOUND"
    await api.call("put", path, ppl.reviewer, json={"item_class": "丁类"}, expect=422)
    # confirming the fields again without items keeps the lines and the class set on them
    again = f"/review/claims/{claim_id}/invoices/{inv_id}/confirmation"
    review = (await api.call("put", again, ppl.reviewer, json=confirmation(values))).json
    assert review["open_items"] == [] and review["calculation"]["payable_fen"] == 52_800

    done = await decide(api, ppl.reviewer, task, case["id"])
    assert done["state"] == "issued"
    assert (await Disbursement.get(claim_id=claim_id)).amount_fen == 52_800
    mine = await api.get(f"/claims/{claim_id}", ppl.citizen)
    assert [(x["name"], x["amount"]) for x in mine["schemes"]] == [
        ("基本医疗保险", "528.00元"),
        ("大病保险", "0.00元"),
        ("医疗救助", "0.00元"),
    ]
    year = await SettlementYear.get(person_id=ppl.citizen.person.id, year=2025)
    assert (year.in_range_fen, year.basic_paid_fen) == (88_000, 52_800)


async def test_assistance_goes_by_the_category_on_the_date_of_care(api, ppl, c, reader):
    person = ppl.citizen.person
    # 低保 from 2025-08-01: the stay on 2025-09-01 is assisted
    await PersonCategory.create(person=person, category="dibao", valid_from=date(2025, 8, 1))
    values = receipt_values(visit_type="inpatient", total_amount="30000.00")
    review, *_ = await in_review_confirmed(api, ppl, c, reader, 73, values)
    basic, cat, assist = (s["amount_fen"] for s in review["calculation"]["schemes"])
    # basic (30000 − 300) × 85 % = 25245.00; left 4755.00, under the halved threshold 7500.00
    assert (basic, cat) == (2_524_500, 0)
    assert assist == 332_850  # 4755.00 × 70 %
    assert any(line.startswith("医疗救助（低保对象）") for line in review["calculation"]["lines"])

    # recorded as 低保 only from 2025-09-02: the same care is not assisted
    await PersonCategory.filter(person=person).update(valid_from=date(2025, 9, 2))
    inv = review["invoices"][0]
    path = f"/review/claims/{review['id']}/invoices/{inv['id']}/confirmation"
    review = (await api.call("put", path, ppl.reviewer, json=confirmation(values))).json
    assert review["calculation"]["schemes"][2]["amount_fen"] == 0
    assert "医疗救助：就诊之日不属于医疗救助对象，支付0.00元" in review["calculation"]["lines"]


async def test_care_before_the_first_catalogue_version_is_classed_by_it(api, ppl, c, reader):
    # 2024-12-20 is inside the one-year claim window and before the catalogue's 2025-01-01
    values = {
        **receipt_values(issue_date="2024-12-20"),
        "items": [{"name": "阿莫西林胶囊", "amount": "1000.00"}],
    }
    await Enrollment.create(  # insured in 2024, the care year
        person_id=ppl.citizen.person.id, year=2024, status=EnrollmentStatus.ENROLLED, channel="app"
    )
    review, *_ = await in_review_confirmed(api, ppl, c, reader, 75, values)
    (item,) = review["calculation"]["invoices"][0]["items"]
    assert (item["item_class"], item["source"]) == ("jia", "name")
    assert review["calculation"]["payable_fen"] == 60_000  # 1000.00 × 60 %
    assert review["calculation"]["invoices"][0]["year"] == 2024


async def test_reviewer_looks_items_up_in_the_catalogue_of_the_care_date(api, ppl):
    found = await api.get("/review/catalogue?q=人血白蛋白&on=2025-06-01", ppl.reviewer)
    (item,) = found["items"]
    assert (item["class_label"], item["self_pay_ratio"]) == ("乙类", "0.10")
    later = await api.get("/review/catalogue?q=人血白蛋白&on=2026-03-01", ppl.reviewer)
    assert later["effective_from"] == "2026-01-01" and later["items"][0]["self_pay_ratio"] == "0.20"
    by_code = await api.get(f"/review/catalogue?q={item['code'][:8]}", ppl.reviewer)
    assert item["code"] in [i["code"] for i in by_code["items"]]
    await api.get("/review/catalogue?q=", ppl.reviewer, expect=422)
    await api.get("/review/catalogue?q=阿莫西林", ppl.citizen, expect=403)
