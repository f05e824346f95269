"""Chronic and special-disease qualification (门诊慢特病) through the HTTP API: fast track vs
expert review with per-criterion verdicts, 容缺受理, duplicates, bad input, renewal with the
reminder job, revocation, assisted applications, scoping, and the benefits on the e-voucher
verification answer and the citizen's profile."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from backend.audit.models import AuditEntry
from backend.cases.models import Case, InboxMessage
from backend.chronic.models import ChronicQualification, ChronicVerdict
from backend.chronic.service import remind_renewals
from backend.clock import local_today
from backend.identity.models import Role
from backend.jobs import PERIODIC
from tests.case_helpers import FRIDAY, Api, People, UploadingApi, relogin
from tests.factories import (
    activate_voucher,
    enroll_for_this_year,
    make_staff,
    make_terminal,
    terminal_verify,
    voucher_code,
)

APPLY = "/me/chronic-applications"
QUALS = "/me/chronic-qualifications"
TODAY = FRIDAY.date()


@pytest.fixture
def api(client) -> Api:
    return UploadingApi(client)  # applications name their materials as files/... to upload


def mat(*keys: str) -> list[dict[str, str]]:
    return [{"key": k, "file_ref": f"files/{k}.jpg"} for k in keys]


TUMOUR = ("M00503", ["diagnosis_certificate", "pathology_report", "treatment_record"])
HYPERTENSION = ("M03900", ["diagnosis_certificate", "medical_record", "exam_report"])


def body(disease=HYPERTENSION, *, level: int = 3, materials=None, **kw) -> dict:
    code, evidence = disease
    return {
        "disease_code": code,
        "diagnosis_date": "2025-03-02",
        "diagnosis_hospital": "浙江大学医学院附属第一医院",
        "diagnosis_hospital_level": level,
        "designated_institutions": ["西湖区第一人民医院"],
        "materials": mat(*(evidence if materials is None else materials)),
        **kw,
    }


def error(resp_json: dict, code: str) -> dict:
    assert resp_json["error"]["code"] == code, resp_json
    assert resp_json["error"]["message"]
    return resp_json["error"]


async def _to_review(api: Api, ppl: People, out: dict) -> dict:
    case = out["case"]
    assert case["state"] == "submitted", case["state"]
    accepted = await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.front_desk,
        {"version": case["version"], "outcome": "accept"},
    )
    assert accepted["state"] == "in_review"
    return accepted


async def _claimed_task(api: Api, ppl: People, case: dict) -> dict:
    task = await api.open_task(case["id"], ppl.reviewer3)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer3)
    return task


# -- fast track ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "disease",
    [
        TUMOUR,
        ("M07803", ["diagnosis_certificate", "treatment_record"]),
        ("M08300", ["diagnosis_certificate", "treatment_record"]),
    ],
)
async def test_fast_track_is_approved_without_expert_review(api, ppl, disease):
    out = await api.post(
        APPLY,
        ppl.citizen,
        body(disease, designated_institutions=["西湖区第一人民医院", "浙江省肿瘤医院"]),
        expect=201,
    )
    assert out["case"]["state"] == "issued"
    q = out["qualification"]
    assert q["status"] == "active" and q["fast_track"] is True
    assert q["institutions"] == ["西湖区第一人民医院", "浙江省肿瘤医院"]
    assert q["valid_from"] == TODAY.isoformat()
    if disease[0] == "M08300":
        assert q["valid_to"] is None  # 长期有效
    else:
        years = 2 if disease[0] == "M00503" else 3
        end = date(TODAY.year + years, TODAY.month, TODAY.day) - timedelta(days=1)
        assert q["valid_to"] == end.isoformat()
    assert await ChronicVerdict.all().count() == 0


async def test_fast_track_disease_without_the_clear_diagnosis_goes_to_experts(api, ppl):
    # diagnosed at a level-1 clinic: not a clear diagnosis for the fast track
    out = await api.post(APPLY, ppl.citizen, body(TUMOUR, level=1), expect=201)
    assert out["case"]["state"] == "submitted" and out["qualification"] is None
    # without the pathology report (key evidence) it is refused up front, the material named
    resp = await api.post(
        APPLY,
        ppl.other_citizen,
        body(TUMOUR, materials=["diagnosis_certificate", "treatment_record"]),
        expect=422,
    )
    missing = error(resp, "KEY_MATERIALS_MISSING")["details"]["materials"]
    assert missing == [{"key": "pathology_report", "name": "病理诊断报告"}]


# -- expert review with per-criterion verdicts ----------------------------------------------------


async def test_expert_review_records_a_verdict_per_criterion(api, ppl):
    case = await _to_review(api, ppl, await api.post(APPLY, ppl.citizen, body(), expect=201))
    task = await _claimed_task(api, ppl, case)
    crit = await api.get(f"/chronic/review/tasks/{task['id']}/criteria", ppl.reviewer3)
    assert [c["code"] for c in crit["criteria"]] == ["C1", "C2", "C3"]
    fresh = await api.get(f"/cases/{case['id']}", ppl.reviewer3)

    # the generic decision cannot approve without verdicts
    resp = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer3,
        {"case_version": fresh["version"], "decision": "approve"},
        expect=409,
    )
    error(resp, "VERDICTS_REQUIRED")
    url = f"/chronic/review/tasks/{task['id']}/assessment"
    partial = [{"criterion": "C1", "met": True}, {"criterion": "C2", "met": True}]
    resp = await api.post(
        url, ppl.reviewer3, {"case_version": fresh["version"], "verdicts": partial}, expect=422
    )
    assert list(error(resp, "CRITERIA_INCOMPLETE")["details"]["missing"]) == ["C3"]
    unknown = [*partial, {"criterion": "C9", "met": True}]
    resp = await api.post(
        url, ppl.reviewer3, {"case_version": fresh["version"], "verdicts": unknown}, expect=422
    )
    error(resp, "CRITERION_UNKNOWN")
    assert await ChronicVerdict.all().count() == 0

    verdicts = [*partial, {"criterion": "C3", "met": True, "note": "长期服用氨氯地平"}]
    done = await api.post(
        url, ppl.reviewer3, {"case_version": fresh["version"], "verdicts": verdicts}
    )
    assert done["state"] == "issued"
    crit = await api.get(f"/chronic/review/tasks/{task['id']}/criteria", ppl.reviewer3)
    assert {v["criterion"]: v["met"] for v in crit["verdicts"]} == {
        "C1": True,
        "C2": True,
        "C3": True,
    }
    quals = (await api.get(QUALS, ppl.citizen))["items"]
    assert len(quals) == 1 and quals[0]["disease_name"] == "高血压病"
    assert quals[0]["fast_track"] is False
    assert await AuditEntry.filter(action="chronic.assess").count() == 1


async def test_a_criterion_not_met_rejects_with_the_reason_shown(api, ppl):
    case = await _to_review(api, ppl, await api.post(APPLY, ppl.citizen, body(), expect=201))
    task = await _claimed_task(api, ppl, case)
    fresh = await api.get(f"/cases/{case['id']}", ppl.reviewer3)
    verdicts = [
        {"criterion": "C1", "met": True},
        {"criterion": "C2", "met": False, "note": "仅一次测量达标"},
        {"criterion": "C3", "met": True},
    ]
    done = await api.post(
        f"/chronic/review/tasks/{task['id']}/assessment",
        ppl.reviewer3,
        {"case_version": fresh["version"], "verdicts": verdicts},
    )
    assert done["state"] == "rejected"
    assert "非同日3次测量血压" in done["document"]["content"]["reason"]
    assert await ChronicQualification.all().count() == 0


async def test_only_a_chronic_reviewer_holding_the_task_assesses(api, ppl):
    case = await _to_review(api, ppl, await api.post(APPLY, ppl.citizen, body(), expect=201))
    task = await api.open_task(case["id"], ppl.reviewer3)
    url = f"/chronic/review/tasks/{task['id']}/assessment"
    verdicts = [{"criterion": k, "met": True} for k in ("C1", "C2", "C3")]
    payload = {"case_version": case["version"], "verdicts": verdicts}
    error(await api.post(url, ppl.reviewer, payload, expect=404), "TASK_NOT_FOUND")
    error(await api.post(url, ppl.reviewer3, payload, expect=409), "TASK_NOT_HELD")


# -- 容缺受理 -------------------------------------------------------------------------------------


async def test_medical_record_may_follow_later(api, ppl):
    out = await api.post(
        APPLY, ppl.citizen, body(materials=["diagnosis_certificate", "exam_report"]), expect=201
    )
    case = await _to_review(api, ppl, out)
    assert case["open_gaps"] == 1
    task = await _claimed_task(api, ppl, case)
    fresh = await api.get(f"/cases/{case['id']}", ppl.reviewer3)
    verdicts = [{"criterion": k, "met": True} for k in ("C1", "C2", "C3")]
    done = await api.post(
        f"/chronic/review/tasks/{task['id']}/assessment",
        ppl.reviewer3,
        {"case_version": fresh["version"], "verdicts": verdicts},
    )
    assert done["state"] == "approved"  # not issued while the record is missing
    assert await ChronicQualification.all().count() == 0
    mine = await api.get(f"/cases/{case['id']}", ppl.citizen)
    done = await api.post(
        f"/cases/{case['id']}/materials",
        ppl.citizen,
        {"version": mine["version"], "materials": mat("medical_record")},
    )
    assert done["state"] == "issued"
    assert len((await api.get(QUALS, ppl.citizen))["items"]) == 1


# -- bad input and duplicates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"disease_code": "M99999"}, "DISEASE_UNKNOWN"),
        ({"diagnosis_date": "2025-10-01"}, "DIAGNOSIS_DATE_INVALID"),
        ({"diagnosis_date": "2025-13-01"}, "VALIDATION_FAILED"),
        ({"diagnosis_hospital_level": 4}, "VALIDATION_FAILED"),
        ({"designated_institutions": ["甲医院", "乙医院"]}, "INSTITUTIONS_INVALID"),
        ({"designated_institutions": []}, "VALIDATION_FAILED"),
        ({"materials": [{"key": "xray", "file_ref": "a.jpg"}]}, "MATERIAL_UNKNOWN"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(api, ppl, override, code):
    resp = await api.post(APPLY, ppl.citizen, {**body(), **override}, expect=422)
    error(resp, code)
    assert await Case.all().count() == 0


async def test_duplicates_are_refused(api, ppl):
    await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201)
    error(await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=409), "QUALIFICATION_ACTIVE")
    await api.post(APPLY, ppl.citizen, body(), expect=201)  # hypertension: pending review
    error(await api.post(APPLY, ppl.citizen, body(), expect=409), "APPLICATION_IN_PROGRESS")
    assert await Case.filter(applicant_id=ppl.citizen.person.id).count() == 2


# -- renewal and the reminder job -----------------------------------------------------------------


def test_the_reminder_job_is_registered():
    assert "remind_chronic_renewals" in {job.name for job in PERIODIC}


async def test_renewal_before_expiry_with_a_reminder(api, ppl, c, clock):
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    valid_to = date.fromisoformat(q["valid_to"])
    resp = await api.post(
        f"{QUALS}/{q['id']}/renew", ppl.citizen, {**body(TUMOUR), "version": q["version"]}, 409
    )
    assert (
        error(resp, "RENEWAL_NOT_OPEN")["details"]["opens_on"]
        == (valid_to - timedelta(days=90)).isoformat()
    )
    assert await remind_renewals(c) == {"reminded": 0, "expired": 0}

    clock.set(FRIDAY + timedelta(days=(valid_to - TODAY).days - 29))  # 29 days before the end
    await relogin(c, ppl)
    results = await asyncio.gather(remind_renewals(c), remind_renewals(c))
    assert sum(r["reminded"] for r in results) == 1
    assert (await remind_renewals(c))["reminded"] == 0  # once per qualification
    inbox = await api.get("/me/inbox", ppl.citizen)
    reminders = [m for m in inbox["items"] if m["title"] == "门诊慢特病资格即将到期"]
    assert len(reminders) == 1 and valid_to.strftime("%Y年%m月%d日") in reminders[0]["body"]

    today = local_today(clock)
    out = await api.post(
        f"{QUALS}/{q['id']}/renew",
        ppl.citizen,
        {**body(TUMOUR, diagnosis_date=today.isoformat()), "version": q["version"]},
        expect=201,
    )
    new = out["qualification"]
    assert out["case"]["state"] == "issued"
    assert new["valid_from"] == (valid_to + timedelta(days=1)).isoformat()  # no gap, no overlap
    old = await api.get(f"{QUALS}/{q['id']}", ppl.citizen)
    assert old["status"] == "renewed"
    benefits = await api.get("/me/benefits", ppl.citizen)
    assert [b["valid_to"] for b in benefits["chronic_qualifications"]] == [q["valid_to"]]

    clock.set(FRIDAY + timedelta(days=(valid_to - TODAY).days + 1))
    await relogin(c, ppl)
    benefits = await api.get("/me/benefits", ppl.citizen)
    assert [b["valid_to"] for b in benefits["chronic_qualifications"]] == [new["valid_to"]]


async def test_an_unrenewed_qualification_expires(api, ppl, c, clock):
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    clock.set(FRIDAY + timedelta(days=800))
    result = await remind_renewals(c)
    assert result["expired"] == 1
    assert (await ChronicQualification.get(id=q["id"])).status == "expired"
    await relogin(c, ppl)
    assert (await api.get("/me/benefits", ppl.citizen))["chronic_qualifications"] == []
    # a new application is possible again
    today = local_today(clock).isoformat()
    out = await api.post(APPLY, ppl.citizen, body(TUMOUR, diagnosis_date=today), expect=201)
    assert out["case"]["state"] == "issued"


# -- revocation -----------------------------------------------------------------------------------


async def test_revocation(api, ppl, c):
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    url = f"/chronic/qualifications/{q['id']}/revoke"
    payload = {"version": q["version"], "reason_code": "V02", "reason_text": "诊断证明系伪造"}
    error(await api.post(url, ppl.reviewer, payload, expect=403), "NOT_CHRONIC_REVIEWER")
    await api.post(url, ppl.citizen, payload, expect=403)
    error(
        await api.post(url, ppl.reviewer3, {**payload, "reason_code": "X1"}, 422), "REASON_UNKNOWN"
    )
    out = await api.post(url, ppl.reviewer3, payload)
    assert out["status"] == "revoked" and out["end_reason"] == "诊断证明系伪造"
    assert out["valid_to"] == (TODAY - timedelta(days=1)).isoformat()
    assert (await api.get("/me/benefits", ppl.citizen))["chronic_qualifications"] == []
    error(
        await api.post(url, ppl.reviewer3, {**payload, "version": out["version"]}, 409),
        "QUALIFICATION_NOT_ACTIVE",
    )
    msg = await InboxMessage.filter(person_id=ppl.citizen.person.id).order_by("-id").first()
    assert msg is not None and msg.title == "门诊慢特病资格已取消"
    assert await AuditEntry.filter(action="chronic.revoke").count() == 1


# -- assisted, scoping ----------------------------------------------------------------------------


async def test_assisted_application_with_signed_form(api, ppl, c):
    from backend.identity.persons import id_number_of

    payload = {
        **body(TUMOUR),
        "applicant_id_number": id_number_of(c, ppl.citizen.person),
        "authorisation_method": "signed_form",
        "authorisation_form_ref": "files/auth.pdf",
        "authorisation_form_number": "SQ-7",
    }
    url = "/station/chronic-applications"
    resp = await api.post(url, ppl.clerk, payload, expect=422)
    missing = error(resp, "KEY_MATERIALS_MISSING")["details"]["materials"]
    assert [m["key"] for m in missing] == ["id_card"]  # in person the ID card is key
    payload["materials"] = mat(*TUMOUR[1], "id_card")
    out = await api.post(url, ppl.clerk, payload, expect=201)
    assert out["case"]["state"] == "issued" and out["qualification"]["status"] == "active"
    # town B does not take chronic-disease requests
    error(await api.post(url, ppl.clerk_b, payload, expect=403), "ITEM_NOT_DELEGATED")
    no_auth = {**payload, "authorisation_method": None}
    error(await api.post(url, ppl.clerk, no_auth, expect=409), "QUALIFICATION_ACTIVE")


async def test_another_persons_qualification_is_not_found(api, ppl):
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    other = ppl.other_citizen
    error(await api.get(f"{QUALS}/{q['id']}", other, expect=404), "QUALIFICATION_NOT_FOUND")
    resp = await api.post(
        f"{QUALS}/{q['id']}/renew", other, {**body(TUMOUR), "version": 1}, expect=404
    )
    error(resp, "QUALIFICATION_NOT_FOUND")
    assert (await api.get(QUALS, other))["items"] == []


async def test_catalogue(client, ppl):
    _, resp = await client.get("/api/v1/chronic/diseases")
    items = {d["code"]: d for d in resp.json["items"]}
    for code in ("M03900", "M01600", "M00503", "M07803", "M08300", "M02101", "M00105", "M01200"):
        assert code in items
    assert items["M00503"]["fast_track"] and not items["M03900"]["fast_track"]
    assert items["M01200"]["category_name"] == "特殊病"


# -- the e-voucher verification answer ------------------------------------------------------------


async def test_voucher_verification_shows_active_benefits(api, ppl, c, client):
    login = ppl.citizen
    await api.post(APPLY, login, body(TUMOUR), expect=201)
    await api.post(
        "/me/remote-care-filings",
        login,
        {
            "filing_type": "other_temporary",
            "province_code": "440000",
            "city_code": "440300",
            "start_date": TODAY.isoformat(),
            "materials": mat("commitment_letter"),
        },
        expect=201,
    )
    await enroll_for_this_year(c, login.person.id)
    voucher = await activate_voucher(client, login)
    term = await make_terminal(c)
    resp = await terminal_verify(client, c, term, await voucher_code(client, login, voucher["id"]))
    assert resp.status == 200, resp.text
    quals = resp.json["chronic_qualifications"]
    assert [(q["disease_code"], q["disease_name"]) for q in quals] == [
        ("M00503", "恶性肿瘤（放化疗）")
    ]
    filings = resp.json["remote_care_filings"]
    assert [(f["type_name"], f["city_code"]) for f in filings] == [("其他临时外出就医", "440300")]
    assert "id_number" not in str(quals)


async def test_staff_cannot_act_as_chronic_reviewer_without_the_category(api, ppl, c):
    other_rev = await make_staff(c, Role.REVIEWER, "enroll-rev", categories=("enrollment",))
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    await api.post(
        f"/chronic/qualifications/{q['id']}/revoke",
        other_rev,
        {"version": q["version"], "reason_code": "V01"},
        expect=403,
    )
    assert (await ChronicQualification.get(id=q["id"])).status == "active"


async def test_a_revoked_qualification_cannot_be_renewed_by_a_pending_renewal(api, ppl, c, clock):
    q = (await api.post(APPLY, ppl.citizen, body(TUMOUR), expect=201))["qualification"]
    valid_to = date.fromisoformat(q["valid_to"])
    clock.set(FRIDAY + timedelta(days=(valid_to - TODAY).days - 10))
    await relogin(c, ppl)
    renewal = {**body(TUMOUR, level=1), "version": q["version"]}  # level 1: expert review
    out = await api.post(f"{QUALS}/{q['id']}/renew", ppl.citizen, renewal, expect=201)
    case = await _to_review(api, ppl, out)
    await api.post(
        f"/chronic/qualifications/{q['id']}/revoke",
        ppl.reviewer3,
        {"version": q["version"], "reason_code": "V02"},
    )
    task = await _claimed_task(api, ppl, case)
    fresh = await api.get(f"/cases/{case['id']}", ppl.reviewer3)
    resp = await api.post(
        f"/chronic/review/tasks/{task['id']}/assessment",
        ppl.reviewer3,
        {
            "case_version": fresh["version"],
            "verdicts": [{"criterion": "C1", "met": True}, {"criterion": "C2", "met": True}],
        },
        expect=409,
    )
    error(resp, "QUALIFICATION_REVOKED")
    assert await ChronicQualification.filter(status="active").count() == 0
    assert await ChronicVerdict.all().count() == 0  # the assessment rolled back with it
