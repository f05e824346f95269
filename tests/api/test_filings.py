"""Remote-care filing (异地就医备案) through the HTTP API: each type's acceptance rules, the
instant and reviewed paths, validity and change rules on a controllable clock, one active
filing per category, assisted filings with authorisation, scoping, and ``filing_effect``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.audit.models import AuditEntry
from backend.cases.models import Case, InboxMessage
from backend.clock import local_today
from backend.errors import InvalidInput
from backend.filings.models import RemoteCareFiling
from backend.filings.service import filing_effect
from backend.identity.models import Role
from tests.case_helpers import FRIDAY, Api, People, UploadingApi, relogin
from tests.factories import make_staff

FILINGS = "/me/remote-care-filings"
TODAY = FRIDAY.date()  # 2025-09-26, local


@pytest.fixture
async def ppl(ppl: People, c) -> People:
    ppl.reviewer3 = await make_staff(c, Role.REVIEWER, "rc-rev", categories=("remote_care",))
    return ppl


@pytest.fixture
def api(client) -> Api:
    return UploadingApi(client)  # filings name their materials as files/... to upload


def mat(*keys: str) -> list[dict[str, str]]:
    return [{"key": k, "file_ref": f"files/{k}.jpg"} for k in keys]


def body(filing_type: str = "long_term_resident", **kw) -> dict:
    out = {
        "filing_type": filing_type,
        "province_code": "440000",
        "city_code": "440300",
        "start_date": TODAY.isoformat(),
    }
    if filing_type in ("long_term_resident", "retiree_resettled", "posted_worker"):
        out |= {"use_commitment": True, "materials": mat("commitment_letter")}
    elif filing_type == "other_temporary":
        out |= {"materials": mat("commitment_letter")}
    elif filing_type == "referral":
        out |= {"materials": mat("referral_document"), "destination_hospital": "深圳市人民医院"}
    elif filing_type == "emergency":
        out |= {"materials": mat("emergency_proof")}
    return out | kw


def error(resp_json: dict, code: str) -> dict:
    assert resp_json["error"]["code"] == code, resp_json
    assert resp_json["error"]["message"]
    return resp_json["error"]


# -- each type's acceptance rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("filing_type", "materials", "extra", "valid_days"),
    [
        ("retiree_resettled", ["resettlement_proof"], {}, None),
        ("long_term_resident", ["residence_proof"], {}, None),
        ("posted_worker", ["work_proof"], {}, None),
        ("long_term_resident", ["commitment_letter"], {"use_commitment": True}, None),
        ("emergency", ["emergency_proof"], {}, 30),
        ("other_temporary", ["commitment_letter"], {}, 180),
    ],
)
async def test_a_filing_that_meets_its_type_rules_is_approved_on_the_spot(
    api, ppl, filing_type, materials, extra, valid_days
):
    out = await api.post(
        FILINGS,
        ppl.citizen,
        body(filing_type, materials=mat(*materials), **{"use_commitment": False, **extra}),
        expect=201,
    )
    assert out["case"]["state"] == "issued"
    assert out["case"]["document"]["title"] == "异地就医备案凭证"
    filing = out["filing"]
    assert filing["status"] == "active" and filing["filing_type"] == filing_type
    assert filing["valid_from"] == TODAY.isoformat()
    expected_to = (TODAY + timedelta(days=valid_days - 1)).isoformat() if valid_days else None
    assert filing["valid_to"] == expected_to
    assert filing["commitment"] == ("commitment_letter" in materials)
    benefits = await api.get("/me/benefits", ppl.citizen)
    assert [f["serial"] for f in benefits["remote_care_filings"]] == [filing["serial"]]
    assert await AuditEntry.filter(action="filing.activate", subject_id=str(filing["id"])).exists()


async def test_a_missing_proof_is_not_decided_on_the_spot(api, ppl):
    """Without the proof and without choosing the commitment letter nothing is submitted: the
    application is refused up front, naming the key material (no 容缺 for filings)."""
    refused = await api.post(
        FILINGS, ppl.citizen, body("posted_worker", use_commitment=False, materials=[]), expect=422
    )
    missing = error(refused, "KEY_MATERIALS_MISSING")["details"]["materials"]
    assert [m["key"] for m in missing] == ["work_proof"]
    assert await Case.all().count() == 0


async def test_commitment_letter_is_refused_where_the_type_does_not_allow_it(api, ppl):
    resp = await api.post(FILINGS, ppl.citizen, body("referral", use_commitment=True), expect=422)
    error(resp, "COMMITMENT_NOT_ALLOWED")
    assert await Case.all().count() == 0


async def test_emergency_can_be_filed_after_the_care_within_the_limit(api, ppl):
    start = TODAY - timedelta(days=10)
    out = await api.post(
        FILINGS, ppl.citizen, body("emergency", start_date=start.isoformat()), expect=201
    )
    assert out["filing"]["retroactive"] is True
    assert out["filing"]["valid_from"] == start.isoformat()
    too_early = (TODAY - timedelta(days=91)).isoformat()
    resp = await api.post(
        FILINGS, ppl.other_citizen, body("emergency", start_date=too_early), expect=422
    )
    error(resp, "START_DATE_TOO_EARLY")


# -- the reviewed path (referral) -------------------------------------------------------------


async def test_referral_needs_the_hospital_document_and_is_active_after_review(api, ppl):
    out = await api.post(FILINGS, ppl.citizen, body("referral", diagnosis="肺癌"), expect=201)
    case = out["case"]
    assert case["state"] == "submitted" and out["filing"] is None
    assert await api.get(FILINGS, ppl.citizen) == {"items": []}
    accepted = await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.front_desk,
        {"version": case["version"], "outcome": "accept"},
    )
    assert accepted["state"] == "in_review"
    decided = await api.claim_decide(accepted, ppl.reviewer3, "approve")
    assert decided["state"] == "issued"
    items = (await api.get(FILINGS, ppl.citizen))["items"]
    assert len(items) == 1 and items[0]["filing_type"] == "referral"
    assert items[0]["destination_hospital"] == "深圳市人民医院"
    assert items[0]["valid_to"] == (TODAY + timedelta(days=179)).isoformat()


async def test_rejected_referral_records_no_filing(api, ppl):
    out = await api.post(FILINGS, ppl.citizen, body("referral"), expect=201)
    case = out["case"]
    accepted = await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.front_desk,
        {"version": case["version"], "outcome": "accept"},
    )
    decided = await api.claim_decide(accepted, ppl.reviewer3, "reject", reason_code="J01")
    assert decided["state"] == "rejected"
    assert await RemoteCareFiling.all().count() == 0
    # the category is free again
    again = await api.post(FILINGS, ppl.citizen, body("other_temporary"), expect=201)
    assert again["case"]["state"] == "issued"


# -- bad input: a clear 4xx and nothing changes -------------------------------------------------


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"filing_type": "holiday"}, "FILING_TYPE_UNKNOWN"),
        ({"province_code": "44000"}, "DESTINATION_INVALID"),
        ({"province_code": "990000"}, "DESTINATION_INVALID"),
        ({"city_code": "440000"}, "DESTINATION_INVALID"),
        ({"city_code": "4403AB"}, "DESTINATION_INVALID"),
        ({"city_code": "450100"}, "DESTINATION_MISMATCH"),
        ({"province_code": "330000", "city_code": "330100"}, "DESTINATION_IS_HOME"),
        ({"start_date": "2025-02-30"}, "VALIDATION_FAILED"),
        ({"start_date": "2025-09-25"}, "RETROACTIVE_NOT_ALLOWED"),
        ({"start_date": "2026-01-01"}, "START_DATE_TOO_LATE"),
        ({"materials": [{"key": "passport", "file_ref": "x.jpg"}]}, "MATERIAL_UNKNOWN"),
        ({"unexpected": 1}, "VALIDATION_FAILED"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(api, ppl, override, code):
    resp = await api.post(FILINGS, ppl.citizen, body(**override), expect=422)
    error(resp, code)
    assert await Case.all().count() == 0
    assert await RemoteCareFiling.all().count() == 0


async def test_referral_without_hospital_is_refused(api, ppl):
    resp = await api.post(
        FILINGS, ppl.citizen, body("referral", destination_hospital=""), expect=422
    )
    assert error(resp, "HOSPITAL_REQUIRED")["details"]["field"] == "destination_hospital"


async def test_the_generic_case_endpoint_cannot_bypass_the_filing_rules(api, ppl):
    resp = await api.post(
        "/cases",
        ppl.citizen,
        {"service_code": "remote_care_filing", "form": {"filing_type": "long_term_resident"}},
        expect=422,
    )
    error(resp, "SERVICE_HAS_OWN_ENTRY")


# -- one active filing per person and category ------------------------------------------------


async def test_one_active_filing_per_category(api, ppl):
    await api.post(FILINGS, ppl.citizen, body(), expect=201)
    resp = await api.post(FILINGS, ppl.citizen, body("posted_worker", city_code="440100"), 409)
    error(resp, "FILING_ALREADY_ACTIVE")
    # another category is independent
    temp = await api.post(FILINGS, ppl.citizen, body("other_temporary"), expect=201)
    assert temp["case"]["state"] == "issued"
    # a pending application blocks a second one of its category
    other = ppl.other_citizen
    await api.post(FILINGS, other, body("referral"), expect=201)
    resp = await api.post(FILINGS, other, body("emergency"), expect=409)
    error(resp, "FILING_IN_PROGRESS")
    assert await RemoteCareFiling.filter(status="active").count() == 2


# -- validity and change rules (controllable clock) -------------------------------------------


async def test_temporary_filing_ends_after_its_validity_and_frees_the_category(api, ppl, c, clock):
    out = await api.post(FILINGS, ppl.citizen, body("other_temporary"), expect=201)
    clock.set(FRIDAY + timedelta(days=179))
    await relogin(c, ppl)
    assert len((await api.get("/me/benefits", ppl.citizen))["remote_care_filings"]) == 1
    clock.set(FRIDAY + timedelta(days=180))
    await relogin(c, ppl)
    assert (await api.get("/me/benefits", ppl.citizen))["remote_care_filings"] == []
    mine = await api.get(f"{FILINGS}/{out['filing']['id']}", ppl.citizen)
    assert mine["status"] == "ended" and mine["end_reason"] == "有效期届满"
    again = await api.post(
        FILINGS,
        ppl.citizen,
        body("other_temporary", start_date=local_today(clock).isoformat()),
        expect=201,
    )
    assert again["case"]["state"] == "issued"


async def test_long_term_change_waits_for_the_minimum_period_and_needs_a_reason(api, ppl, c, clock):
    first = (await api.post(FILINGS, ppl.citizen, body(), expect=201))["filing"]
    assert first["change_opens_on"] == (TODAY + timedelta(days=180)).isoformat()
    change = body(city_code="440100", version=first["version"], reason="随子女迁居广州")
    resp = await api.post(f"{FILINGS}/{first['id']}/change", ppl.citizen, change, expect=409)
    assert error(resp, "FILING_CHANGE_TOO_EARLY")["details"]["opens_on"] == "2026-03-25"
    resp = await api.post(
        f"{FILINGS}/{first['id']}/cancel",
        ppl.citizen,
        {"version": first["version"], "reason": "回参保地居住"},
        expect=409,
    )
    error(resp, "FILING_CHANGE_TOO_EARLY")

    clock.set(FRIDAY + timedelta(days=181))
    await relogin(c, ppl)
    today = local_today(clock)
    change["start_date"] = today.isoformat()
    resp = await api.post(
        f"{FILINGS}/{first['id']}/change", ppl.citizen, {**change, "reason": ""}, expect=422
    )
    resp = await api.post(
        f"{FILINGS}/{first['id']}/change",
        ppl.citizen,
        {
            **change,
            "filing_type": "other_temporary",
            "materials": mat("commitment_letter"),
            "use_commitment": False,
        },
        expect=422,
    )
    error(resp, "FILING_CATEGORY_MISMATCH")
    out = await api.post(f"{FILINGS}/{first['id']}/change", ppl.citizen, change, expect=201)
    assert out["case"]["state"] == "issued"
    new = out["filing"]
    assert new["city_code"] == "440100" and new["replaces_id"] == first["id"]
    old = await api.get(f"{FILINGS}/{first['id']}", ppl.citizen)
    assert old["status"] == "ended"
    assert old["valid_to"] == (today - timedelta(days=1)).isoformat()
    assert old["end_reason"] == "变更：随子女迁居广州"
    benefits = await api.get("/me/benefits", ppl.citizen)
    assert [f["city_code"] for f in benefits["remote_care_filings"]] == ["440100"]
    # care in Shenzhen before the change stays covered by the old filing
    effect = await filing_effect(c, ppl.citizen.person.id, today - timedelta(days=5), "440305")
    assert effect.filed and effect.filing_id == first["id"]


async def test_cancel_needs_a_reason_and_stops_coverage(api, ppl, c):
    filing = (await api.post(FILINGS, ppl.citizen, body("other_temporary"), expect=201))["filing"]
    url = f"{FILINGS}/{filing['id']}/cancel"
    resp = await api.post(url, ppl.citizen, {"version": filing["version"], "reason": ""}, 422)
    error(resp, "VALIDATION_FAILED")
    resp = await api.post(url, ppl.citizen, {"version": 99, "reason": "行程取消"}, expect=409)
    error(resp, "FILING_CHANGED")
    out = await api.post(url, ppl.citizen, {"version": filing["version"], "reason": "行程取消"})
    assert out["status"] == "ended" and out["end_reason"] == "取消：行程取消"
    assert (await api.get("/me/benefits", ppl.citizen))["remote_care_filings"] == []
    again = await api.post(url, ppl.citizen, {"version": out["version"], "reason": "x"}, 409)
    error(again, "FILING_NOT_ACTIVE")
    msg = await InboxMessage.filter(person_id=ppl.citizen.person.id).order_by("-id").first()
    assert msg is not None and "已取消" in msg.title
    assert await AuditEntry.filter(action="filing.cancel").count() == 1


# -- assisted filings (帮办代办) with authorisation -----------------------------------------------


def assisted(ppl: People, c, **kw) -> dict:
    from backend.identity.persons import id_number_of

    return body(
        "long_term_resident",
        use_commitment=False,
        materials=mat("residence_proof", "id_card"),
        applicant_id_number=id_number_of(c, ppl.citizen.person),
        agent_name="李小明之女",
        **kw,
    )


async def test_assisted_filing_needs_the_applicants_authorisation(api, ppl, c):
    url = "/station/remote-care-filings"
    resp = await api.post(url, ppl.clerk, assisted(ppl, c), expect=422)
    error(resp, "AUTHORISATION_REQUIRED")
    assert await Case.all().count() == 0
    # confirmation in the app: the case waits, then is decided on the spot
    out = await api.post(url, ppl.clerk, assisted(ppl, c, authorisation_method="app"), 201)
    case = out["case"]
    assert case["state"] == "awaiting_authorisation" and out["filing"] is None
    assert case["channel"] == "station"
    # the other citizen cannot authorise it
    await api.post(
        f"/cases/{case['id']}/authorisation",
        ppl.other_citizen,
        {"version": case["version"], "decision": "confirm"},
        expect=404,
    )
    done = await api.post(
        f"/cases/{case['id']}/authorisation",
        ppl.citizen,
        {"version": case["version"], "decision": "confirm"},
    )
    assert done["state"] == "issued"
    items = (await api.get(FILINGS, ppl.citizen))["items"]
    assert len(items) == 1 and items[0]["status"] == "active"


async def test_assisted_filing_with_signed_form_and_missing_id_card(api, ppl, c):
    url = "/station/remote-care-filings"
    signed = {
        "authorisation_method": "signed_form",
        "authorisation_form_ref": "files/auth-1.pdf",
        "authorisation_form_number": "SQ-2025-001",
    }
    # in person the ID card is a key material: refused up front without it
    refused = await api.post(
        url, ppl.clerk, {**assisted(ppl, c, **signed), "materials": mat("residence_proof")}, 422
    )
    assert error(refused, "KEY_MATERIALS_MISSING")["details"]["materials"][0]["key"] == "id_card"
    out = await api.post(url, ppl.clerk, assisted(ppl, c, **signed), 201)
    assert out["case"]["state"] == "issued" and out["filing"]["status"] == "active"


async def test_station_without_the_item_cannot_file(api, ppl, c):
    village_clerk = await make_staff(
        c, Role.STATION_STAFF, "clerk-v", station=ppl.stations["village_a"]
    )
    resp = await api.post(
        "/station/remote-care-filings",
        village_clerk,
        assisted(ppl, c, authorisation_method="app"),
        expect=403,
    )
    error(resp, "ITEM_NOT_DELEGATED")
    assert await Case.all().count() == 0


# -- scoping -------------------------------------------------------------------------------------


async def test_another_persons_filing_is_not_found(api, ppl):
    filing = (await api.post(FILINGS, ppl.citizen, body("other_temporary"), expect=201))["filing"]
    other = ppl.other_citizen
    error(await api.get(f"{FILINGS}/{filing['id']}", other, expect=404), "FILING_NOT_FOUND")
    resp = await api.post(
        f"{FILINGS}/{filing['id']}/cancel", other, {"version": 1, "reason": "x"}, expect=404
    )
    error(resp, "FILING_NOT_FOUND")
    assert (await api.get(FILINGS, other))["items"] == []
    assert (await api.get("/me/benefits", other))["remote_care_filings"] == []


# -- the effect for reimbursement ---------------------------------------------------------------


async def test_filing_effect(api, ppl, c):
    person_id = ppl.citizen.person.id
    await api.post(FILINGS, ppl.citizen, body(), expect=201)  # long-term, Shenzhen
    start = TODAY - timedelta(days=5)
    await api.post(
        FILINGS,
        ppl.citizen,
        body("emergency", city_code="440100", start_date=start.isoformat()),
        expect=201,
    )

    home = await filing_effect(c, person_id, TODAY, "330106")
    assert (home.out_of_region, home.filed, home.ratio_adjustment) == (False, False, Decimal(0))

    shenzhen = await filing_effect(c, person_id, TODAY, "440305")
    assert shenzhen.filed and shenzhen.filing_type == "long_term_resident"
    assert shenzhen.ratio_adjustment == Decimal("0")

    guangzhou = await filing_effect(c, person_id, start, "440106")
    assert guangzhou.filed and guangzhou.filing_type == "emergency"
    assert guangzhou.ratio_adjustment == Decimal("-0.10")
    after = await filing_effect(c, person_id, start + timedelta(days=30), "440106")
    assert not after.filed and after.ratio_adjustment == Decimal("-0.20")

    beijing = await filing_effect(c, person_id, TODAY, "110105")
    assert beijing.out_of_region and not beijing.filed
    assert beijing.ratio_adjustment == Decimal("-0.20")

    before = await filing_effect(c, person_id, TODAY - timedelta(days=1), "440305")
    assert not before.filed  # the long-term filing starts today

    other = await filing_effect(c, ppl.other_citizen.person.id, TODAY, "440305")
    assert not other.filed

    for bad in ("12345", "ABCDEF", "990101", ""):
        with pytest.raises(InvalidInput):
            await filing_effect(c, person_id, TODAY, bad)

    staff = await api.get(
        f"/remote-care/effect?person_id={person_id}&care_date={TODAY}&region_code=440305",
        ppl.reviewer,
    )
    assert staff["filed"] is True and staff["ratio_adjustment"] == "0"
    await api.get(
        f"/remote-care/effect?person_id={person_id}&care_date={TODAY}&region_code=440305",
        ppl.citizen,
        expect=403,
    )


async def test_filing_types_come_from_policy(api, ppl, client):
    _, resp = await client.get("/api/v1/remote-care/filing-types")
    assert resp.status == 200
    items = {t["code"]: t for t in resp.json["items"]}
    assert set(items) == {
        "retiree_resettled",
        "long_term_resident",
        "posted_worker",
        "referral",
        "emergency",
        "other_temporary",
    }
    assert items["referral"]["instant"] is False and items["referral"]["proofs"] == [
        "referral_document"
    ]
    assert items["long_term_resident"]["commitment"] == "may_replace"
    assert date.fromisoformat("2025-01-01")  # dates are ISO throughout
