"""Every journey end to end, as a new user would run it after `make run`: only the public HTTP
API, only the accounts and data `yibao seed-demo` creates (their logins, the walkthrough's
demo ID numbers, the demo terminal), the shipped configuration, and invoices printed by the
project's receipt generator and read by the real OCR engine. Runs on both stacks.

One test: the supervisor's statistics at the end count what every journey before it did.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.claims.checks import CONFIRMED_OCR_KEYS
from backend.clock import CHINA_TZ
from backend.demo import seed_demo
from bench import ocr_synth as synth
from tests.conftest import require
from tests.journeys.kit import BANK, Journey, receipt
from tests.payments_kit import paysim  # noqa: F401  (fixture)

# A Monday in the 2027 collection period (2026-09-01 .. 2027-02-28); everyone is insured in 2026.
MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=CHINA_TZ)
TODAY = MONDAY.date()


@pytest.fixture
def journey(client: Any) -> Journey:
    return Journey(client, "")


async def _logins(j: Journey) -> None:
    for user in ("zhangwei", "wangfang", "liuqiang", "chenjing"):
        await j.citizen(user)
    for name in (
        "frontdesk",
        "clerk_dongcheng",
        "reviewer_info",
        "reviewer_enroll",
        "reviewer_remote",
        "reviewer_chronic",
        "reviewer_claims",
        "reviewer_claims2",
        "finance",
        "supervisor",
    ):
        await j.staff(name)


# -- 1. enrollment, payment, e-voucher ----------------------------------------------------------


async def _enrollment_and_voucher(j: Journey, c: Any) -> None:
    family = await j.get("/me/family", "zhangwei")
    ids = {m["member"]["name"]: m["member"]["id"] for m in family["items"]}
    me = (await j.get("/me", "zhangwei"))["person"]["id"]
    persons = [me, ids["张小雨"], ids["张建国"]]  # a minor and a parent who consented
    year = TODAY.year + 1
    status = await j.get(f"/enrollment?year={year}", "zhangwei")
    assert {i["status"] for i in status["items"]} == {"not_enrolled"}
    resp = await j.call(
        "post",
        "/payments/orders",
        "zhangwei",
        json={"year": year, "person_ids": persons},
        headers={"Idempotency-Key": "journey-pay-1"},
        expect=201,
    )
    order = resp.json
    assert order["total_fen"] == 3 * 42000
    paid = await j.post(f"/payments/orders/{order['id']}/simulate-pay", "zhangwei")
    assert paid["status"] == "paid" and paid["receipt"]["number"]
    receipt_doc = await j.get(f"/payments/orders/{order['id']}/receipt", "zhangwei")
    assert receipt_doc["total_yuan"] == "1260.00"
    status = await j.get(f"/enrollment?year={year}", "zhangwei")
    enrolled = {i["person"]["id"] for i in status["items"] if i["status"] == "enrolled"}
    assert set(persons) <= enrolled

    voucher = (await j.call("post", "/me/vouchers", "zhangwei", json={}, expect=201)).json
    code = (await j.get(f"/me/vouchers/{voucher['id']}/code", "zhangwei"))["code"]
    resp = await j.terminal_post(
        "/terminal/vouchers/verify",
        {"code": code, "purpose": "02121"},
        int(c.clock.now().timestamp()),
    )
    assert resp.status == 200, resp.body[:400]
    assert resp.json["insurance"]["covered_today"] is True  # the demo's current year is paid


# -- 2. remote-care filings -----------------------------------------------------------------------

# (filing type, material keys, extra form fields)
FILINGS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "retiree_resettled": (["resettlement_proof"], {}),
    "long_term_resident": (["residence_proof"], {}),
    "posted_worker": (["work_proof"], {}),
    "referral": (
        ["referral_document"],
        {"destination_hospital": "上海交通大学医学院附属瑞金医院", "diagnosis": "冠心病"},
    ),
    "emergency": (["emergency_proof"], {"diagnosis": "急性阑尾炎"}),
    "other_temporary": (["commitment_letter"], {"use_commitment": True}),
}


def _filing(ftype: str, materials: list[dict[str, str]]) -> dict[str, Any]:
    start = TODAY if FILINGS[ftype][1].get("diagnosis") != "急性阑尾炎" else TODAY - timedelta(3)
    return {
        "filing_type": ftype,
        "province_code": "310000",
        "city_code": "310100",
        "start_date": start.isoformat(),
        "materials": materials,
        **FILINGS[ftype][1],
    }


async def _finish_filing(j: Journey, out: dict[str, Any], ftype: str, desk: str) -> int:
    case_id = out["case"]["id"]
    if ftype == "referral":  # reviewed: the front desk accepts, the remote-care reviewer decides
        assert out["case"]["state"] == "submitted"
        await j.accept(case_id, desk)
        await j.decide(case_id, "reviewer_remote")
    return case_id


async def _app_filings(j: Journey, seed: int) -> list[int]:
    who_files = {
        "retiree_resettled": "zhangwei",
        "long_term_resident": "wangfang",
        "posted_worker": "liuqiang",
        "referral": "zhangwei",
        "emergency": "wangfang",
        "other_temporary": "chenjing",
    }
    cases = []
    for n, (ftype, user) in enumerate(who_files.items()):
        mats = [await j.upload(user, key, seed + n) for key in FILINGS[ftype][0]]
        out = await j.post("/me/remote-care-filings", user, _filing(ftype, mats), expect=201)
        case_id = await _finish_filing(j, out, ftype, "frontdesk")
        await j.issued_and_rated(case_id, user)
        cases.append(case_id)
    return cases


async def _station_filings(j: Journey, seed: int) -> list[int]:
    jianguo, lina = j.demo_id_number("张建国"), j.demo_id_number("李娜")
    chenjing, liuqiang = j.demo_id_number("陈静"), j.demo_id_number("刘强")
    for_whom = {
        "retiree_resettled": jianguo,
        "long_term_resident": lina,
        "posted_worker": chenjing,
        "referral": jianguo,
        "emergency": lina,
        "other_temporary": liuqiang,
    }
    clerk, cases = "clerk_dongcheng", []
    for n, (ftype, id_number) in enumerate(for_whom.items()):
        mats = [
            await j.upload(clerk, key, seed + n, applicant_id_number=id_number)
            for key in [*FILINGS[ftype][0], "id_card"]
        ]
        form = await j.upload(clerk, "authorisation", seed + 50 + n, applicant_id_number=id_number)
        body = {
            **_filing(ftype, mats),
            "applicant_id_number": id_number,
            "authorisation_method": "signed_form",
            "authorisation_form_ref": form["file_ref"],
            "authorisation_form_number": f"SQ-J-{n:03d}",
        }
        out = await j.post("/station/remote-care-filings", clerk, body, expect=201)
        case_id = await _finish_filing(j, out, ftype, clerk)  # the station accepts its own
        await j.issued_and_rated(case_id, None, viewer=clerk)
        cases.append(case_id)
    return cases


# -- 3. chronic disease ---------------------------------------------------------------------------


def _chronic(code: str, materials: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "disease_code": code,
        "diagnosis_date": (TODAY - timedelta(60)).isoformat(),
        "diagnosis_hospital": "浙江大学医学院附属第一医院",
        "diagnosis_hospital_level": 3,
        "designated_institutions": ["西湖区第一人民医院"],
        "materials": materials,
    }


async def _chronic_journeys(j: Journey, seed: int) -> list[int]:
    # Fast track: a malignant tumour with a clear diagnosis, approved on the spot.
    keys = ["diagnosis_certificate", "pathology_report", "treatment_record"]
    mats = [await j.upload("zhangwei", k, seed + n) for n, k in enumerate(keys)]
    fast = await j.post("/me/chronic-applications", "zhangwei", _chronic("M00503", mats), 201)
    await j.issued_and_rated(fast["case"]["id"], "zhangwei")

    # Hypertension: the front desk accepts, the expert records a verdict per criterion.
    keys = ["diagnosis_certificate", "medical_record", "exam_report"]
    mats = [await j.upload("wangfang", k, seed + 10 + n) for n, k in enumerate(keys)]
    out = await j.post("/me/chronic-applications", "wangfang", _chronic("M03900", mats), 201)
    case_id = out["case"]["id"]
    await j.accept(case_id, "frontdesk")
    task = await j.take_task(case_id, "reviewer_chronic")
    criteria = await j.get(f"/chronic/review/tasks/{task['id']}/criteria", "reviewer_chronic")
    verdicts = [
        {"criterion": cr["code"], "met": True, "note": "符合"} for cr in criteria["criteria"]
    ]
    assert len(verdicts) == 3
    case = await j.case(case_id, "reviewer_chronic")
    await j.post(
        f"/chronic/review/tasks/{task['id']}/assessment",
        "reviewer_chronic",
        {"case_version": case["version"], "verdicts": verdicts},
    )
    await j.issued_and_rated(case_id, "wangfang", score=4)
    return [fast["case"]["id"], case_id]


# -- 4. 参保信息变更 ------------------------------------------------------------------------


async def _info_changes(j: Journey, seed: int) -> tuple[list[int], int]:
    form = {"change_type": "phone", "new_phone": "13900001111"}
    body = {"service_code": "insurance_info_change", "form": form}
    phone = await j.post("/cases", "zhangwei", body, 201)
    await j.issued_and_rated(phone["id"], "zhangwei")  # decided on the spot

    async def bank_change(user: str, n: int) -> dict[str, Any]:
        mats = [
            await j.upload(user, k, seed + n + i)
            for i, k in enumerate(("bank_card", "bank_confirmation"))
        ]
        form = {
            "change_type": "bank_account",
            "bank_name": "中国农业银行西湖支行",
            "bank_account": "6228480012345678901",
        }
        return await j.post(
            "/cases",
            user,
            {"service_code": "insurance_info_change", "form": form, "materials": mats},
            201,
        )

    bank = await bank_change("wangfang", 0)
    await j.accept(bank["id"], "frontdesk")
    await j.decide(bank["id"], "reviewer_info")  # level 1
    assert (await j.case(bank["id"], "wangfang"))["state"] == "in_review"
    await j.decide(bank["id"], "reviewer_enroll")  # level 2, another person
    await j.issued_and_rated(bank["id"], "wangfang")

    withdrawn = await bank_change("liuqiang", 10)  # changes their mind before review
    await j.post(
        f"/cases/{withdrawn['id']}/withdraw", "liuqiang", {"version": withdrawn["version"]}
    )
    return [phone["id"], bank["id"]], withdrawn["id"]


# -- 5. reimbursement ------------------------------------------------------------------------------


async def _claim(
    j: Journey,
    c: Any,
    who: str,
    truth_and_image: tuple[bytes, dict],
    *,
    station_for: str | None = None,
) -> dict[str, Any]:
    image, _ = truth_and_image
    if station_for is None:
        claim = await j.post("/claims", who, {}, expect=201)
    else:
        claim = await j.post("/station/claims", who, {"applicant_id_number": station_for}, 201)
    await j.call(
        "post",
        f"/claims/{claim['id']}/invoices",
        who,
        expect=201,
        files={"file": ("invoice.png", image, "image/png")},
    )
    await c.jobs.drain()  # the background OCR job (the real engine)
    claim = await j.get(f"/claims/{claim['id']}", who)
    assert claim["invoices"][0]["ocr_status"] == "done"
    return claim


async def _review_claim(
    j: Journey, claim: dict[str, Any], truth: dict[str, Any], desk: str, levels: int
) -> dict[str, Any]:
    case_id = claim["case"]["id"]
    await j.accept(case_id, desk)
    task = await j.take_task(case_id, "reviewer_claims")
    review = await j.get(f"/review/claims/{claim['id']}", "reviewer_claims")
    inv = review["invoices"][0]
    assert inv["proposal"]["engine"] == "rapidocr"
    recognised = {k: v["value"] for k, v in inv["proposal"]["fields"].items()}
    assert recognised["total_amount"] == truth["total_amount"]
    body = {
        **{k: truth[k] for k in CONFIRMED_OCR_KEYS},
        "institution_level": "tertiary",
        "care_region_code": "330100",
    }
    await j.call(
        "put",
        f"/review/claims/{claim['id']}/invoices/{inv['id']}/confirmation",
        "reviewer_claims",
        json=body,
    )
    case = await j.case(case_id, "reviewer_claims")
    assert case["required_levels"] == levels
    await j.post(
        f"/review/tasks/{task['id']}/decision",
        "reviewer_claims",
        {"case_version": case["version"], "decision": "approve"},
    )
    if levels == 2:
        await j.decide(case_id, "reviewer_claims2")
    return await j.case(case_id, "reviewer_claims")


async def _paid(j: Journey, claim_id: int, who: str) -> dict[str, Any]:
    claim = await j.get(f"/claims/{claim_id}", who)
    assert claim["explanation"], "the calculation is explained to the citizen"
    payout = claim["payout"]
    assert payout["status"] == "scheduled" and payout["due_date"] > TODAY.isoformat()
    paid = await j.post(
        f"/finance/disbursements/{payout['id']}/paid", "finance", {"reference": "BANK-REF-0001"}
    )
    assert paid["status"] == "paid"
    return claim


async def _claims(j: Journey, c: Any) -> list[int]:
    care = TODAY - timedelta(days=20)
    small = receipt(payer="张伟", day=care, total=Decimal("1860.50"), seed=1)
    large = receipt(
        payer="张伟",
        day=care - timedelta(3),
        total=Decimal("12800.00"),
        seed=2,
        visit_type="inpatient",
    )
    cases = []
    for data, levels in ((small, 1), (large, 2)):
        claim = await _claim(j, c, "zhangwei", data)
        claim = await j.post(
            f"/claims/{claim['id']}/submit", "zhangwei", {"version": claim["version"], **BANK}
        )
        await _review_claim(j, claim, data[1], "frontdesk", levels)
        done = await _paid(j, claim["id"], "zhangwei")
        fen = done["payout"]["amount_fen"]
        assert fen > 500_000 if levels == 2 else 0 < fen <= 500_000  # 5,000 元: two reviewers
        await j.issued_and_rated(claim["case"]["id"], "zhangwei")
        cases.append(claim["case"]["id"])

    # Care on a day of a year the patient had not paid for: refused before any review.
    lapsed = receipt(
        payer="张伟", day=date(TODAY.year - 1, 12, 20), total=Decimal("500.00"), seed=3
    )
    claim = await _claim(j, c, "zhangwei", lapsed)
    refused = await j.post(
        f"/claims/{claim['id']}/submit",
        "zhangwei",
        {"version": claim["version"], **BANK},
        expect=422,
    )
    assert refused["error"]["code"] == "NOT_INSURED_ON_CARE_DATE"
    assert (await j.get(f"/claims/{claim['id']}", "zhangwei"))["case"] is None
    return cases


async def _station_claim(j: Journey, c: Any) -> int:
    """A clerk files for 王芳, who authorises it in the app; the station accepts it."""
    clerk, wangfang = "clerk_dongcheng", j.demo_id_number("王芳")
    data = receipt(payer="王芳", day=TODAY - timedelta(9), total=Decimal("960.00"), seed=4)
    claim = await _claim(j, c, clerk, data, station_for=wangfang)
    claim = await j.post(
        f"/claims/{claim['id']}/submit",
        clerk,
        {"version": claim["version"], **BANK, "authorisation_method": "app"},
    )
    case = claim["case"]
    assert case["state"] == "awaiting_authorisation"
    await j.post(
        f"/cases/{case['id']}/authorisation",
        "wangfang",
        {"version": case["version"], "decision": "confirm"},
    )
    await _review_claim(j, claim, data[1], clerk, 1)
    await _paid(j, claim["id"], "wangfang")
    await j.issued_and_rated(case["id"], "wangfang")
    return case["id"]


# -- the whole tour -------------------------------------------------------------------------------


async def test_every_journey_end_to_end(c, client, clock, paysim, journey):  # noqa: F811
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    clock.set(MONDAY)
    journey.report = await seed_demo(c)  # what `yibao seed-demo` prints
    j = journey
    await _logins(j)

    await _enrollment_and_voucher(j, c)
    issued = await _app_filings(j, 100)
    issued += await _station_filings(j, 200)
    issued += await _chronic_journeys(j, 300)
    changes, withdrawn = await _info_changes(j, 400)
    issued += changes
    issued += await _claims(j, c)
    issued += [await _station_claim(j, c)]

    stats = await j.get(
        f"/admin/case-stats?date_from={TODAY}&date_to={TODAY}&group_by=channel", "supervisor"
    )
    overall = stats["overall"]
    assert overall["cases"] == len(issued) + 1  # the withdrawn one is a case too
    assert overall["completed"] == len(issued)  # ...but not a completed one
    assert overall["on_time_rate"] == 1.0
    assert overall["ratings"] == len(issued) - 6  # station applicants without the app
    by_channel = {g["key"]: g["cases"] for g in stats["groups"]}
    assert by_channel == {"app": 13, "station": 7}
    assert withdrawn not in issued
