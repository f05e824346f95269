"""Console pages of the admin, finance and station desks through Sanic's ASGI client, on both
stacks: each calls the domain function the API calls, and refuses the roles the API refuses."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest
from PIL import Image

from backend.cases.models import Case
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
    _, unknown = await client.post(
        "/console/station/requests/no_such_service",
        data={"applicant_id_number": id_number, "csrf_token": csrf},
        cookies=cookies,
    )
    assert unknown.status == 404 and "SERVICE_UNKNOWN" in unknown.text
    assert await Case.filter(service_code="no_such_service").count() == 0


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


@pytest.fixture
async def town(c, district):
    """A station every item is delegated to."""
    return await Station.create(
        code="T01", name="测试街道服务站", level=StationLevel.TOWN, parent=district,
        delegated_items=["insurance_info_change", "enrollment", "remote_care_filing",
                         "chronic_disease", "reimbursement"],
    )  # fmt: skip


async def test_the_station_desk_offers_each_delegated_item_and_nothing_else(
    client, c, district, town
):
    await make_staff_with_password(c, "clerk01", station_id=district.id)
    await make_staff_with_password(c, "clerk02", station_id=town.id)
    value, _ = await console_login(client, "clerk02")
    _, new = await client.get("/console/station/new", cookies={COOKIE: value})
    for name in ("参保信息变更", "参保登记与缴费", "异地就医备案", "门诊慢特病资格认定",
                 "零星（手工）报销"):  # fmt: skip
        assert f">{name}</a>" in new.text, name
    for path in ("/console/station/chronic", "/console/station/claims",
                 "/console/station/enrollment"):  # fmt: skip
        _, form = await client.get(path, cookies={COOKIE: value})
        assert form.status == 200, path
    value, _ = await console_login(client, "clerk01")  # only info changes and enrollment
    _, new = await client.get("/console/station/new", cookies={COOKIE: value})
    assert (
        ">门诊慢特病资格认定</a>" not in new.text
        and 'action="/console/station/filings"' not in (new.text)
    )
    for path in ("/console/station/chronic", "/console/station/claims"):
        _, refused = await client.get(path, cookies={COOKIE: value})
        assert refused.status == 404 and "ITEM_NOT_DELEGATED" in refused.text, path


async def test_station_files_an_assisted_chronic_application_with_its_evidence(client, c, town):
    await make_staff_with_password(c, "clerk02", station_id=town.id)
    id_number = adult_id_number(c)
    await make_citizen(c, "chronic-owner", id_number=id_number, name="钱进")
    value, csrf = await console_login(client, "clerk02")
    cookies = {COOKIE: value}
    form = {"applicant_id_number": id_number, "disease_code": "M03900",
            "diagnosis_date": "2025-03-02", "diagnosis_hospital": "浙江大学医学院附属第一医院",
            "diagnosis_hospital_level": "3", "designated_institutions": "西湖区第一人民医院",
            "authorisation_method": "signed_form", "authorisation_form_number": "SQ-T-0002",
            "csrf_token": csrf}  # fmt: skip
    evidence = ("id_card", "diagnosis_certificate", "medical_record", "exam_report")
    scans = {f"material_{k}": (f"{k}.png", _scan(), "image/png") for k in evidence}
    _, refused = await client.post(
        "/console/station/chronic", data=form, files=scans, cookies=cookies
    )
    assert refused.status == 422 and "授权委托书" in refused.text  # no signed form uploaded
    _, done = await client.post(
        "/console/station/chronic",
        data=form,
        files={**scans, "authorisation_form": ("form.png", _scan(), "image/png")},
        cookies=cookies,
    )
    assert done.status == 303, done.text
    _, case = await client.get(done.headers["location"], cookies=cookies)
    assert "门诊慢特病资格认定" in case.text and "SQ-T-0002" in case.text
    assert case.text.count("<img") >= 5  # four materials and the signed form, inline


async def test_station_files_an_assisted_claim_invoice_by_invoice(client, c, town):
    await make_staff_with_password(c, "clerk02", station_id=town.id)
    id_number = adult_id_number(c)
    await make_citizen(c, "claim-owner", id_number=id_number, name="孙丽")
    value, csrf = await console_login(client, "clerk02")
    cookies = {COOKIE: value}
    _, draft = await client.post(
        "/console/station/claims",
        data={"applicant_id_number": id_number, "csrf_token": csrf},
        cookies=cookies,
    )
    assert draft.status == 303, draft.text
    page_url = draft.headers["location"]
    claim_id = int(page_url.rsplit("/", 1)[1])
    _, up = await client.post(
        f"/console/station/claims/{claim_id}/invoices",
        data={"csrf_token": csrf},
        files={"invoice": ("invoice.png", _scan(), "image/png")},
        cookies=cookies,
    )
    assert up.status == 303, up.text
    _, page = await client.get(page_url, cookies=cookies)
    assert 'data-testid="invoice-count">1 张' in page.text and 'alt="票据1"' in page.text
    version = int(page.text.split('name="version" value="')[1].split('"')[0])
    _, done = await client.post(
        f"/console/station/claims/{claim_id}/submit",
        data={"version": str(version), "bank_name": "中国工商银行杭州分行",
              "bank_account": "6222021234567890123", "authorisation_method": "signed_form",
              "authorisation_form_number": "SQ-T-0003", "csrf_token": csrf},
        files={"authorisation_form": ("form.png", _scan(), "image/png")},
        cookies=cookies,
    )  # fmt: skip
    assert done.status == 303, done.text
    _, case = await client.get(done.headers["location"], cookies=cookies)
    assert "零星（手工）报销" in case.text and "SQ-T-0003" in case.text
    _, again = await client.get(page_url, cookies=cookies)
    assert again.status == 303  # submitted: the draft page sends to the case


async def test_station_registers_a_person_for_enrollment(client, c, town):
    await make_staff_with_password(c, "clerk02", station_id=town.id)
    value, csrf = await console_login(client, "clerk02")
    id_number = adult_id_number(c)
    _, done = await client.post(
        "/console/station/enrollment",
        data={"name": "周新", "id_number": id_number, "csrf_token": csrf},
        cookies={COOKIE: value},
    )
    assert done.status == 200 and 'data-testid="registered"' in done.text and "周新" in done.text
    assert id_number not in done.text  # masked


async def test_case_materials_show_inline_under_the_apis_access_rule(client, c, district, town):
    from tests.factories import login_staff
    from tests.unit.test_claim_uploads import pdf

    await make_staff_with_password(c, "clerk02", station_id=town.id)
    await make_staff_with_password(c, "clerk03", station_id=town.id)  # a colleague
    await make_staff_with_password(c, "clerk01", station_id=district.id)  # another station
    id_number = adult_id_number(c)
    await make_citizen(c, "info-owner", id_number=id_number, name="赵敏")
    value, csrf = await console_login(client, "clerk02")
    _, done = await client.post(
        "/console/station/requests/insurance_info_change",
        data={"applicant_id_number": id_number, "change_type": "phone",
              "new_phone": "13900001234", "authorisation_method": "signed_form",
              "authorisation_form_number": "SQ-T-0004", "csrf_token": csrf},
        files={"material_id_card": ("id.pdf", pdf(), "application/pdf"),
               "authorisation_form": ("form.png", _scan(), "image/png")},
        cookies={COOKIE: value},
    )  # fmt: skip
    assert done.status == 303, done.text
    value, _ = await console_login(client, "clerk03")
    _, case = await client.get(done.headers["location"], cookies={COOKIE: value})
    pdf_id = int(case.text.split('<object data="/console/materials/')[1].split("/")[0])
    form_id = int(case.text.split('alt="代办授权书 SQ-T-0004" src="/console/materials/')[1][:6]
                  .split('"')[0])  # fmt: skip
    assert 'type="application/pdf"' in case.text and 'data-viewer-action="rotate"' in case.text
    _, original = await client.get(f"/console/materials/{pdf_id}/original", cookies={COOKIE: value})
    assert original.status == 200 and original.headers["content-type"] == "application/pdf"
    assert original.body.startswith(b"%PDF")
    for upload_id in (pdf_id, form_id):  # the colleague sees both, in the console and the API
        _, image = await client.get(f"/console/materials/{upload_id}", cookies={COOKIE: value})
        assert image.status == 200 and image.headers["content-type"].startswith("image/")
        token = (await login_staff(client, "clerk03"))["access_token"]
        _, api = await client.get(f"/api/v1/case-materials/{upload_id}/file",
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert api.status == 200
    value, _ = await console_login(client, "clerk01")  # another station: not found, both ways
    token = (await login_staff(client, "clerk01"))["access_token"]
    for upload_id in (pdf_id, form_id):
        for path in (f"/console/materials/{upload_id}", f"/console/materials/{upload_id}/original"):
            _, refused = await client.get(path, cookies={COOKIE: value})
            assert refused.status == 404, path
        _, api = await client.get(f"/api/v1/case-materials/{upload_id}/file",
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert api.status == 404


class _Controls(HTMLParser):
    """The form controls of a page, the ids its labels name, and tabindex values that take a
    control out of the keyboard's natural order."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()
        self.label_depth = 0
        self.tabindex: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        index = a.get("tabindex")
        control = tag in ("a", "button", "input", "select", "textarea")
        if index not in (None, "0") and (control or not (index or "").startswith("-")):
            self.tabindex.append(f"{tag} {a}")  # (the skip link's target may take -1)
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.labelled.add(a["for"] or "")
        elif tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden", "submit", "button",
        ):  # fmt: skip
            self.controls.append({**a, "_wrapped": "1" if self.label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


async def test_every_field_has_a_label_and_stays_in_the_keyboard_order(client, c, district, town):
    await make_staff_with_password(c, "clerk02", station_id=town.id)
    await make_staff_with_password(c, "admin01", role=Role.ADMIN.value)
    await make_staff_with_password(c, "super01", role=Role.SUPERVISOR.value,
                                   categories=["reimbursement"])  # fmt: skip
    await make_staff_with_password(c, "finance01", role=Role.FINANCE.value)
    await make_staff_with_password(c, "reviewer01", role=Role.REVIEWER.value,
                                   categories=["reimbursement", "front_desk"])  # fmt: skip
    pages = {
        "clerk02": ["/console/station", "/console/station/lookup", "/console/station/new",
                    "/console/station/chronic", "/console/station/claims",
                    "/console/station/enrollment", "/console/acceptance",
                    "/console/station/requests/insurance_info_change"],
        "reviewer01": ["/console/review", "/console/acceptance"],
        "super01": ["/console/supervisor", "/console/stats", "/console/review"],
        "finance01": ["/console/finance"],
        "admin01": ["/console/admin/accounts", "/console/admin/stations",
                    "/console/admin/terminals", "/console/admin/audit"],
    }  # fmt: skip
    _, login = await client.get("/console/login")
    checked = {"/console/login": login.text}
    for user, paths in pages.items():
        value, _ = await console_login(client, user)
        for path in paths:
            _, page = await client.get(path, cookies={COOKIE: value})
            assert page.status == 200, (user, path)
            checked[path] = page.text
    for path, html in checked.items():
        parsed = _Controls()
        parsed.feed(html)
        unlabelled = [
            f for f in parsed.controls if not f["_wrapped"] and f.get("id") not in parsed.labelled
        ]
        assert not unlabelled, (path, unlabelled)
        assert not parsed.tabindex, (path, parsed.tabindex)
