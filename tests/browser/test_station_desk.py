"""A village clerk looks a citizen up and files an assisted remote-care filing with an
uploaded signed authorisation form; it appears in the station's list."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.async_api import expect

from backend.clock import CHINA_TZ
from backend.demo.cast import WANG_FANG
from tests.browser.api import signed_form_image
from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


async def test_village_clerk_files_assisted_remote_care_filing(
    desk: Desk, server: Server, tmp_path
) -> None:
    scan = tmp_path / "authorisation.png"
    scan.write_bytes(signed_form_image())
    clerk = await desk.login("clerk_cuiyuan")  # 翠苑社区 (a village-level service point)
    await clerk.get_by_role("link", name="查询参保人", exact=True).click()
    await clerk.get_by_label("身份证号码").fill(WANG_FANG.id_number)
    await clerk.get_by_label("查询事由").fill("为其代办异地就医备案")
    await clerk.get_by_role("button", name="查询").click()
    result = clerk.get_by_test_id("lookup-result")
    await expect(result).to_contain_text("王芳")
    await expect(result).to_contain_text("3301**********" + WANG_FANG.id_number[-4:])  # masked
    await expect(result).not_to_contain_text(WANG_FANG.id_number)

    form = clerk.locator("form[action='/console/station/filings']")
    await expect(form.get_by_label("申请人身份证号码")).to_have_value(WANG_FANG.id_number)
    await form.get_by_label("备案类型").select_option("long_term_resident")
    await form.get_by_label("就医地省份代码").fill("310000")
    await form.get_by_label("就医地城市代码").fill("310100")
    today = datetime.now(CHINA_TZ).date().isoformat()
    await form.get_by_label("备案开始日期").fill(today)
    await form.get_by_label("以个人承诺书代替证明材料").check()
    await form.get_by_label("证明材料（JPEG、PNG 或 PDF）").set_input_files(str(scan))  # the letter
    await form.get_by_label("居民身份证或社会保障卡（扫描件）").set_input_files(str(scan))
    await form.get_by_label("授权方式").select_option("signed_form")
    await form.get_by_label("授权委托书（扫描件或照片）").set_input_files(str(scan))
    await form.get_by_label("授权书编号").fill("SQ-2026-0815")
    await form.get_by_role("button", name="提交代办申请").click()

    await expect(clerk.get_by_role("heading", level=1)).to_contain_text("异地就医备案")
    number = (await clerk.get_by_role("heading", level=1).inner_text()).split("·")[-1].strip()
    await expect(clerk.locator("body")).to_contain_text("签字授权书，已授权（编号 SQ-2026-0815）")
    await expect(clerk.get_by_role("img", name="代办授权书 SQ-2026-0815")).to_be_visible()

    await clerk.get_by_role("link", name="本站办件", exact=True).click()
    await expect(clerk.get_by_test_id("station-cases")).to_contain_text(number)
