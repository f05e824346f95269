"""A supervisor reassigns an escalated (overdue) task, and the statistics page shows the
counts the statistics service computes."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from backend.demo.cast import ZHANG_WEI
from tests.browser.api import BANK, Api, signed_form_image
from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


def escalated_claim(api: Api, server: Server) -> str:
    """A station-filed claim accepted into the review queue, then left until it is overdue
    and the sweeper escalates it (the server's clock is moved, not waited for)."""
    clerk = api.staff("clerk_dongcheng")
    claim = api.call(
        "post", "/station/claims", clerk, json={"applicant_id_number": ZHANG_WEI.id_number}
    )
    api.call(
        "post",
        f"/claims/{claim['id']}/invoices",
        clerk,
        files={"file": ("invoice.png", signed_form_image(), "image/png")},
    )
    claim = api.wait_for_ocr(claim["id"], clerk)
    body = {
        "version": claim["version"],
        **BANK,
        "authorisation_method": "signed_form",
        "authorisation_form_ref": "scan-0001",
        "authorisation_form_number": "SQ-2026-0901",
    }
    claim = api.call("post", f"/claims/{claim['id']}/submit", clerk, json=body)
    case = claim["case"]
    api.call(
        "post",
        f"/cases/{case['id']}/acceptance",
        clerk,
        json={"version": case["version"], "outcome": "accept"},
    )
    server.advance(45 * 24 * 3600)  # past the 20-working-day limit
    try:
        report = httpx.post(server.base + "/_test/sweep", timeout=60).json()
    finally:
        server.advance(-45 * 24 * 3600)
    assert report["overdue"] >= 1, report
    return case["number"]


async def test_supervisor_reassigns_escalated_task_and_sees_statistics(
    desk: Desk, server: Server
) -> None:
    api = Api(server.base)
    number = escalated_claim(api, server)

    boss = await desk.login("supervisor")
    await boss.goto(server.base + "/console/supervisor")
    row = boss.get_by_test_id("escalations").get_by_role("row").filter(has_text=number)
    await expect(row).to_contain_text("未领取")
    await row.get_by_label("审核人员").select_option(label="复核员·零星报销")
    await row.get_by_role("button", name="改派").click()
    await expect(boss.locator("#flash")).to_contain_text("已改派")
    row = boss.get_by_test_id("escalations").get_by_role("row").filter(has_text=number)
    await expect(row).to_contain_text("复核员·零星报销")

    reviewer = await desk.login("reviewer_claims2")
    await expect(reviewer.get_by_role("row").filter(has_text=number)).to_contain_text("释放")

    await boss.get_by_role("link", name="统计").click()
    stats = api.call(
        "get",
        "/admin/case-stats",
        api.staff("admin"),
        params={"group_by": "service"},  # the page's default period: 1 January to today
    )
    overall = stats["overall"]
    assert overall["cases"] >= 1
    await expect(boss.get_by_test_id("stat-cases")).to_have_text(str(overall["cases"]))
    await expect(boss.get_by_test_id("stat-completed")).to_have_text(str(overall["completed"]))
    groups = boss.get_by_test_id("stats-groups")
    await expect(groups).to_contain_text("零星（手工）报销")
    await expect(boss.locator("svg.chart")).to_have_count(5)
    await boss.get_by_label("分组").select_option("station")
    await boss.get_by_role("button", name="查询").click()
    await expect(groups).to_contain_text("东城街道医保服务站")
