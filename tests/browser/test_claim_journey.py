"""A claim submitted in the app goes through the whole console: front desk, first and second
review with the invoice beside the OCR proposal, finance, the bank export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from playwright.async_api import Page, expect

from backend.clock import CHINA_TZ
from tests.browser.api import Api, inpatient_receipt
from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


async def payable(page: Page) -> str:
    return (await page.get_by_test_id("payable").inner_text()).strip()


async def test_app_claim_through_front_desk_two_reviewers_and_finance(
    desk: Desk, server: Server
) -> None:
    api = Api(server.base)
    citizen = api.citizen("zhangwei")
    issued = (datetime.now(CHINA_TZ) - timedelta(days=7)).date()
    claim = api.submit_claim(citizen, inpatient_receipt("张伟", issued))
    case_number = claim["case"]["number"]

    # front desk: the queue shows the case with its time-limit state; accept it
    front = await desk.login("frontdesk")  # the district centre's 综合受理 window
    await front.goto(server.base + "/console/acceptance")
    row = front.get_by_role("row").filter(has_text=case_number)
    await expect(row).to_contain_text("正常")
    await row.get_by_role("link", name=case_number).click()
    await expect(front.get_by_role("img", name="票据1")).to_be_visible()  # materials inline
    await front.get_by_label("结果").select_option("accept")
    await front.get_by_role("button", name="提交受理决定").click()
    await expect(front.get_by_test_id("case-state")).to_have_text("审核中")

    # first reviewer: claim from the queue, the invoice beside the editable proposal
    first = await desk.login("reviewer_claims")
    row = first.get_by_role("row").filter(has_text=case_number)
    await row.get_by_role("button", name="领取").click()
    await expect(first.get_by_test_id("review-level")).to_contain_text("初审")
    await expect(first.get_by_test_id("invoice-image")).to_be_visible()
    await expect(first.get_by_label("交款人")).to_have_value("张伟")
    await expect(first.get_by_label("合计金额")).to_have_value("13000.00")
    # the viewer zooms and rotates
    tools = first.get_by_role("toolbar", name="票据图片工具")  # beside the OCR proposal
    await tools.get_by_role("button", name="放大").click()
    await tools.get_by_role("button", name="旋转").click()
    image = first.get_by_test_id("invoice-image")
    await expect(image).to_have_attribute("data-rotate", "90")
    await expect(image).to_have_attribute("data-scale", "1.25")
    await first.get_by_role("button", name="确认票据信息").click()
    await expect(first.get_by_test_id("payable")).to_be_visible()
    before = await payable(first)
    assert before == "10,795.00元", before  # (13,000 − 300 deductible) × 85 %
    # correct one field: the calculation is recomputed as soon as the field changes
    await first.get_by_label("自费").fill("1000.00")
    await first.get_by_label("自费").dispatch_event("change")
    await expect(first.get_by_test_id("payable")).to_have_text("9,945.00元")
    await expect(first.get_by_test_id("calculation")).to_contain_text("自费")
    # approve with the keyboard shortcut
    await first.locator("body").click(position={"x": 5, "y": 300})
    await first.keyboard.press("a")
    await first.wait_for_url("**decided=1")
    await expect(first.get_by_test_id("case-state")).to_have_text("审核中")

    # second reviewer: the level-2 task is shown as such; approve
    second = await desk.login("reviewer_claims2")
    row = second.get_by_role("row").filter(has_text=case_number)
    await expect(row).to_contain_text("复审")
    await row.get_by_role("button", name="领取").click()
    await expect(second.get_by_test_id("review-level")).to_contain_text("复审（第2级）")
    await expect(second.get_by_label("自费")).to_have_attribute("readonly", "")
    await second.get_by_role("button", name="通过（复审）").click()
    await expect(second.get_by_test_id("case-state")).to_have_text("已办结")

    # finance: the payout is due, oldest first; mark it paid, then export the day
    finance = await desk.login("finance")
    await finance.goto(server.base + "/console/finance")
    row = finance.get_by_role("row").filter(has_text=claim["number"])
    await expect(row).to_contain_text("9,945.00元")
    await row.get_by_label("银行流水号").fill("ICBC20261130001")
    await row.get_by_role("button", name="已汇款").click()
    await expect(finance.locator("#flash")).to_contain_text("已登记汇款")
    await expect(finance.get_by_test_id("payouts")).not_to_contain_text(claim["number"])

    async with finance.expect_download() as csv_download:
        await finance.get_by_role("button", name="导出 CSV").click()
    text = (await (await csv_download.value).path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    mine = [r for r in rows if claim["number"] in r]
    assert mine and mine[0][5] == "9945.00" and mine[0][7] == "已汇款", rows
    assert mine[0][4] == "6222021234567890123" and mine[0][8] == "ICBC20261130001"

    async with finance.expect_download() as xlsx_download:
        await finance.get_by_role("button", name="导出 XLSX").click()
    saved = await (await xlsx_download.value).path()
    book = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))
    values = [[c.value for c in r] for r in book.active.iter_rows()]
    assert any(claim["number"] in r and "9945.00" in r for r in values), values
