"""Role isolation in the browser: a clerk cannot open a reviewer page or another station's
case; a request without the CSRF token is refused; logout and idleness end the session
server-side. The pages also fit a tablet."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.async_api import expect

from backend.clock import CHINA_TZ
from backend.demo.cast import CHEN_JING
from tests.browser.api import Api, signed_form_image
from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


def other_station_case(api: Api) -> int:
    """A remote-care filing the 东城街道 window files for a citizen (signed form recorded)."""
    clerk = api.staff("clerk_dongcheng")

    def upload(name: str) -> str:  # a scanned document of the applicant's
        files = {"file": (f"{name}.png", signed_form_image(), "image/png")}
        form = {"applicant_id_number": CHEN_JING.id_number}
        return api.call("post", "/case-materials", clerk, files=files, data=form)["file_ref"]

    body = {
        "applicant_id_number": CHEN_JING.id_number,
        "filing_type": "long_term_resident",
        "province_code": "310000",
        "city_code": "310100",
        "start_date": datetime.now(CHINA_TZ).date().isoformat(),
        "use_commitment": True,
        "materials": [
            {"key": "id_card", "file_ref": upload("id_card")},
            {"key": "commitment_letter", "file_ref": upload("commitment_letter")},
        ],
        "authorisation_method": "signed_form",
        "authorisation_form_ref": upload("authorisation"),
        "authorisation_form_number": "SQ-2026-0902",
    }
    return api.call("post", "/station/remote-care-filings", clerk, json=body)["case"]["id"]


async def test_clerk_isolation_csrf_logout_and_idle_timeout(desk: Desk, server: Server) -> None:
    case_id = other_station_case(Api(server.base))
    clerk = await desk.login("clerk_cuiyuan", width=768, height=1024)  # a tablet, portrait
    base = server.base
    width = await clerk.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the page scrolls sideways on a tablet ({width}px)"
    await expect(clerk.get_by_role("navigation", name="主菜单")).to_be_visible()

    # a reviewer page and another station's case
    response = await clerk.goto(base + "/console/review")
    assert response is not None and response.status == 403
    await expect(clerk.locator("body")).to_contain_text("您的岗位无权访问该页面")
    response = await clerk.goto(base + f"/console/cases/{case_id}")
    assert response is not None and response.status == 404
    await expect(clerk.locator("body")).to_contain_text("未找到")
    response = await clerk.goto(base + f"/console/review/cases/{case_id}")
    assert response is not None and response.status == 403

    # a form post without the CSRF token, and one with a wrong token, change nothing
    await clerk.goto(base + "/console/station/lookup")
    form = {"id_number": CHEN_JING.id_number, "reason": "测试跨站请求"}
    refused = await clerk.request.post(base + "/console/station/lookup", form=form)
    assert refused.status == 403 and "CSRF_FAILED" in await refused.text()
    forged = await clerk.request.post(
        base + "/console/station/lookup", form={**form, "csrf_token": "forged"}
    )
    assert forged.status == 403
    # ...while the page's own form, with its token, works
    await clerk.get_by_label("身份证号码").fill(CHEN_JING.id_number)
    await clerk.get_by_label("查询事由").fill("核对参保信息")
    await clerk.get_by_role("button", name="查询").click()
    await expect(clerk.get_by_test_id("lookup-result")).to_contain_text("陈静")

    # logout ends the session on the server: the old cookie no longer opens anything
    cookie = next(c for c in await clerk.context.cookies() if c["name"] == "yibao_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await clerk.get_by_role("button", name="退出登录").click()
    await expect(clerk.get_by_role("heading", name="工作人员登录")).to_be_visible()
    replay = await clerk.request.get(
        base + "/console/station",
        headers={"Cookie": f"yibao_console={cookie['value']}"},
        max_redirects=0,
    )
    assert replay.status == 302 and replay.headers["location"] == "/console/login"

    # an idle session ends after the timeout (the server's clock is moved, not waited for)
    clerk = await desk.login("clerk_cuiyuan")
    await clerk.goto(base + "/console/station")
    await expect(clerk.get_by_test_id("station-cases")).to_be_visible()
    server.advance(31 * 60)
    try:
        await clerk.goto(base + "/console/station")
        await expect(clerk.get_by_role("heading", name="工作人员登录")).to_be_visible()
    finally:
        server.advance(-31 * 60)


async def test_admin_creates_and_deactivates_an_account_and_sees_the_audit_chain(
    desk: Desk, server: Server
) -> None:
    admin = await desk.login("admin")
    await admin.get_by_role("link", name="账户").click()
    await admin.get_by_label("用户名", exact=True).fill("clerk_cuiyuan2")
    await admin.get_by_label("姓名", exact=True).fill("翠苑社区帮办员·林晓")
    await admin.get_by_label("初始密码（至少10位）").fill("Clerk@2026-new")
    await admin.get_by_label("岗位").select_option("station_staff")
    await admin.get_by_label("服务站（服务站工作人员）").select_option(
        label="　　翠苑社区医保服务点"
    )
    await admin.get_by_role("button", name="创建").click()
    await expect(admin.locator("#flash")).to_contain_text("账户已创建")
    row = admin.get_by_test_id("accounts").get_by_role("row").filter(has_text="clerk_cuiyuan2")
    await expect(row).to_contain_text("翠苑社区医保服务点")

    clerk = await desk.login("clerk_cuiyuan2", password="Clerk@2026-new")
    await expect(clerk.get_by_test_id("station-cases")).to_be_visible()

    await row.get_by_label("原因").fill("调离服务点")
    await row.get_by_role("button", name="停用").click()
    await expect(admin.locator("#flash")).to_contain_text("账户已停用")
    await clerk.reload()  # the clerk's open session ended with the deactivation
    await expect(clerk.get_by_role("heading", name="工作人员登录")).to_be_visible()

    await admin.get_by_role("link", name="审计链").click()
    await expect(admin.get_by_test_id("audit-result")).to_contain_text("审计链完整")
