"""Console pages of the admin, finance and station desks through Sanic's ASGI client, on both
stacks: each calls the domain function the API calls, and refuses the roles the API refuses."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from backend.identity.models import Role
from backend.stations.models import Station, StationLevel
from backend.terminals.models import Terminal
from tests.console_helpers import COOKIE, console_login
from tests.factories import adult_id_number, make_citizen, make_staff_with_password


def _scan() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (900, 1200), (250, 250, 245)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def district(c):
    return await Station.create(
        code="D00",
        name="测试区中心",
        level=StationLevel.DISTRICT,
        delegated_items=["insurance_info_change", "enrollment"],
    )


async def test_admin_edits_delegated_items_and_registers_and_disables_a_terminal(
    client, c, district
):
    await make_staff_with_password(c, "admin01", role=Role.ADMIN.value)
    value, csrf = await console_login(client, "admin01")
    cookies = {COOKIE: value}
    _, page = await client.get("/console/admin/stations", cookies=cookies)
    assert page.status == 200 and "测试区中心" in page.text
    _, done = await client.post(
        f"/console/admin/stations/{district.id}/items",
        data={"items": ["enrollment"], "reason": "调整下放事项", "csrf_token": csrf},
        cookies=cookies,
    )
    assert done.status == 303
    assert (await Station.get(id=district.id)).delegated_items == ["enrollment"]

    _, shown = await client.post(
        "/console/admin/terminals",
        data={
            "institution_code": "H330100001",
            "institution_name": "测试药房",
            "city_code": "330100",
            "csrf_token": csrf,
        },
        cookies=cookies,
    )
    terminal = await Terminal.get(institution_code="H330100001")
    assert (
        shown.status == 200 and terminal.key_id in shown.text and "密钥只显示这一次" in shown.text
    )
    _, listed = await client.get("/console/admin/terminals", cookies=cookies)
    assert "密钥只显示这一次" not in listed.text  # the secret is never shown again
    _, off = await client.post(
        f"/console/admin/terminals/{terminal.key_id}/disable",
        data={"reason": "设备遗失", "csrf_token": csrf},
        cookies=cookies,
    )
    assert off.status == 303 and not (await Terminal.get(key_id=terminal.key_id)).is_active

    _, audit = await client.get("/console/admin/audit", cookies=cookies)
    assert "审计链完整" in audit.text


async def test_finance_export_is_for_finance_roles_only(client, c):
    await make_staff_with_password(c, "finance01", role=Role.FINANCE.value)
    await make_staff_with_password(
        c, "reviewer01", role=Role.REVIEWER.value, categories=["reimbursement"]
    )
    value, _ = await console_login(client, "reviewer01")
    _, refused = await client.get("/console/finance/export.csv", cookies={COOKIE: value})
    assert refused.status == 403
    value, _ = await console_login(client, "finance01")
    _, page = await client.get("/console/finance", cookies={COOKIE: value})
    assert page.status == 200 and "暂无待汇款" in page.text
    _, csv = await client.get("/console/finance/export.csv?day=2026-01-05", cookies={COOKIE: value})
    assert csv.status == 200 and csv.body.decode("utf-8-sig").startswith("汇款编号,报销单号")
    _, bad = await client.get("/console/finance/export.xlsx?day=yesterday", cookies={COOKIE: value})
    assert bad.status == 422


async def test_station_files_an_assisted_info_change_with_uploaded_materials(client, c, district):
    await make_staff_with_password(c, "clerk01", station_id=district.id)
    id_number = adult_id_number(c)
    await make_citizen(c, "info-owner", id_number=id_number, name="赵敏")
    value, csrf = await console_login(client, "clerk01")
    cookies = {COOKIE: value}
    _, form = await client.get("/console/station/requests/insurance_info_change", cookies=cookies)
    assert form.status == 200 and "新联系电话" in form.text
    _, done = await client.post(
        "/console/station/requests/insurance_info_change",
        data={
            "applicant_id_number": id_number,
            "change_type": "phone",
            "new_phone": "13900001234",
            "authorisation_method": "signed_form",
            "authorisation_form_number": "SQ-T-0001",
            "csrf_token": csrf,
        },
        files={
            "material_id_card": ("id.png", _scan(), "image/png"),
            "authorisation_form": ("form.png", _scan(), "image/png"),
        },
        cookies=cookies,
    )
    assert done.status == 303, done.text
    _, case = await client.get(done.headers["location"], cookies=cookies)
    assert "参保信息变更" in case.text and "SQ-T-0001" in case.text
    _, listed = await client.get("/console/station", cookies=cookies)
    assert "参保信息变更" in listed.text
    _, other = await client.get("/console/station/requests/remote_care_filing", cookies=cookies)
    assert other.status == 404  # not delegated to this station (and has its own form)


async def test_case_statistics_have_one_rule_for_the_api_and_the_console(client, c, district):
    from tests.factories import login_staff

    for name, role in (("super01", Role.SUPERVISOR), ("admin01", Role.ADMIN),
                       ("reviewer01", Role.REVIEWER)):  # fmt: skip
        await make_staff_with_password(c, name, role=role.value, categories=["reimbursement"])
    for name, allowed in (("super01", True), ("admin01", True), ("reviewer01", False)):
        token = (await login_staff(client, name))["access_token"]
        _, api = await client.get(
            "/api/v1/admin/case-stats?group_by=service",
            headers={"Authorization": f"Bearer {token}"},
        )
        value, _ = await console_login(client, name)
        _, page = await client.get("/console/stats?group_by=service", cookies={COOKIE: value})
        assert (api.status, page.status) == ((200, 200) if allowed else (403, 403)), name
        if allowed:  # the same default period and the same figures
            assert f'value="{api.json["from"]}"' in page.text
            assert f'data-testid="stat-cases">{api.json["overall"]["cases"]}<' in page.text
    value, _ = await console_login(client, "super01")
    _, bad = await client.get(
        "/console/stats?date_from=2026-02-01&date_to=2026-01-01", cookies={COOKIE: value}
    )
    assert bad.status == 422 and "结束日期不能早于开始日期" in bad.text
