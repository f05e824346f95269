"""A town clerk files the two assisted requests with forms of their own, in the browser: a
chronic-disease qualification with its materials, and a reimbursement claim built invoice by
invoice (the real OCR reads the upload), each with a signed authorisation form; both appear in
the station's list."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from backend.clock import CHINA_TZ
from backend.demo.cast import LIU_QIANG
from tests.browser.api import inpatient_receipt, signed_form_image
from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


async def authorise(page: Page, scan: str, number: str) -> None:
    await page.get_by_label("授权方式").select_option("signed_form")
    await page.get_by_label("授权委托书（扫描件或照片）").set_input_files(scan)
    await page.get_by_label("授权书编号").fill(number)


async def case_number(page: Page) -> str:
    return (await page.get_by_role("heading", level=1).inner_text()).split("·")[-1].strip()


async def test_town_clerk_files_assisted_chronic_application_and_claim(
    desk: Desk, server: Server, tmp_path
) -> None:
    scan = tmp_path / "signed.png"
    scan.write_bytes(signed_form_image())
    receipt = tmp_path / "receipt.png"
    issued = (datetime.now(CHINA_TZ) - timedelta(days=5)).date()
    receipt.write_bytes(inpatient_receipt(LIU_QIANG.name, issued, seed="station-forms"))
    clerk = await desk.login("clerk_dongcheng")  # 东城街道: every item is delegated there

    # 门诊慢特病: the disease's materials are file inputs, each labelled with its name
    await clerk.goto(f"{server.base}/console/station/chronic")
    await clerk.get_by_label("申请人身份证号码").fill(LIU_QIANG.id_number)
    await clerk.get_by_label("病种").select_option("M03900")  # 高血压病
    await clerk.get_by_label("确诊日期").fill((issued - timedelta(days=400)).isoformat())
    await clerk.get_by_label("诊断医院", exact=True).fill("杭州市第一人民医院")
    await clerk.get_by_label("诊断医院等级").select_option("3")
    await clerk.get_by_label("定点医疗机构（多家用“、”分隔）").fill("东城社区卫生服务中心")
    materials = clerk.locator("input[type=file][name^='material_']")
    assert await materials.count() >= 3  # 诊断证明书, 病历, 检查报告
    for i in range(await materials.count()):
        await materials.nth(i).set_input_files(str(scan))
    await authorise(clerk, str(scan), "SQ-2026-1101")
    await clerk.get_by_role("button", name="提交代办申请").click()
    await expect(clerk.get_by_role("heading", level=1)).to_contain_text("门诊慢特病")
    chronic_number = await case_number(clerk)
    await expect(clerk.locator("body")).to_contain_text("签字授权书，已授权（编号 SQ-2026-1101）")

    # 零星报销: a draft, one invoice read by the OCR, then the submission
    await clerk.goto(f"{server.base}/console/station/claims")
    await clerk.get_by_label("申请人身份证号码").fill(LIU_QIANG.id_number)
    await clerk.get_by_role("button", name="建立报销草稿").click()
    await clerk.get_by_label("票据照片或电子发票（JPEG、PNG 或 PDF）").set_input_files(str(receipt))
    await clerk.get_by_role("button", name="上传票据").click()
    await expect(clerk.get_by_test_id("invoice-count")).to_have_text("1 张")
    await expect(clerk.get_by_role("img", name="票据1")).to_be_visible()
    for _ in range(120):  # the OCR runs as a job; the clerk reloads until it has read the invoice
        if "已识别" in await clerk.locator("figcaption").inner_text():
            break
        await clerk.wait_for_timeout(1000)
        await clerk.reload()
    await expect(clerk.locator("figcaption")).to_contain_text("已识别 杭州市第三人民医院 13000.00")
    await clerk.get_by_label("收款银行").fill("中国工商银行杭州东城支行")
    await clerk.get_by_label("收款账号").fill("6222021202041234567")
    await authorise(clerk, str(scan), "SQ-2026-1102")
    await clerk.get_by_role("button", name="提交代办申请").click()
    await expect(clerk.get_by_role("heading", level=1)).to_contain_text("零星（手工）报销")
    claim_number = await case_number(clerk)

    await clerk.get_by_role("link", name="本站办件", exact=True).click()
    listed = clerk.get_by_test_id("station-cases")
    await expect(listed).to_contain_text(chronic_number)
    await expect(listed).to_contain_text(claim_number)
