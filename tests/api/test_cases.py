"""Case lifecycles through the HTTP API: every outcome of acceptance and review, assisted
requests, scoping, forbidden transitions, idempotent decisions, the sweeper and statistics."""

from __future__ import annotations

import pytest

from backend.audit.sealer import seal_all
from backend.audit.service import verify_chain
from backend.cases import sweeper
from backend.cases.models import Case, CaseEvent, CaseTask, InboxMessage
from backend.identity.models import Role
from tests.case_helpers import (
    ALL_CLAIM_MATERIALS,
    FRIDAY,
    Api,
    People,
    claim_form,
    relogin,
    uploaded,
)
from tests.factories import adult_id_number, make_citizen, make_staff
from tests.workflow_definitions import TEST_CLAIM_V2
from workflows.registry import Registry

pytestmark = pytest.mark.usefixtures("with_test_definitions")


async def _claim_case(api: Api, ppl: People, amount: str = "1200.00", materials=None) -> dict:
    body = {
        **claim_form(amount),
        "materials": await uploaded(
            api, ppl.citizen, ALL_CLAIM_MATERIALS if materials is None else materials
        ),
    }
    return await api.post("/cases", ppl.citizen, body, expect=201)


async def _accept(
    api: Api, ppl: People, case: dict, outcome: str = "accept", expect: int | None = 200, **extra
) -> dict:
    return await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.front_desk,
        {"version": case["version"], "outcome": outcome, **extra},
        expect=expect,
    )


# -- outcomes ---------------------------------------------------------------------------------


async def test_instant_decision_issues_on_the_spot_with_verifiable_document(api, ppl, client):
    case = await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "phone", "new_phone": "13912345678"},
        },
        expect=201,
    )
    assert case["state"] == "issued"
    assert case["form"]["new_phone"] == "139****5678"  # masked in every response
    doc = case["document"]
    assert doc["title"] == "参保信息变更确认书" and doc["outcome"] == "approved"
    _, resp = await client.get(f"/api/v1/case-documents/verify/{doc['verification_code']}")
    assert resp.status == 200 and resp.json["content"]["case_number"] == case["number"]
    assert "13912345678" not in resp.text
    _, resp = await client.get("/api/v1/case-documents/verify/AAAA-BBBB-CCCC-DDDD")
    assert resp.status == 404
    qr = await api.call("get", f"/cases/{case['id']}/document/qr.svg", ppl.citizen)
    assert qr.content_type.startswith("image/svg") and b"<svg" in qr.body
    timeline = await api.get(f"/cases/{case['id']}/timeline", ppl.citizen)
    actions = [i["action"] for i in timeline["items"]]
    assert actions == ["submit", "instant_accept", "instant_approve", "issue"]
    inbox = await api.get("/me/inbox", ppl.citizen)
    assert inbox["total"] == 4 and inbox["unread"] == 4
    await api.post(f"/me/inbox/{inbox['items'][0]['id']}/read", ppl.citizen)
    assert (await api.get("/me/inbox", ppl.citizen))["unread"] == 3


async def test_accepted_case_is_routed_reviewed_and_issued(api, ppl, c):
    case = await _claim_case(api, ppl)
    assert case["state"] == "submitted" and case["sla"] == "normal"
    # promised: 10 working days after Fri 2025-09-26, over the National Day holidays
    assert case["due_at"].startswith("2025-10-17T00:00:00+08:00") or case["due_at"].startswith(
        "2025-10-16T16:00:00"
    )
    case = await _accept(api, ppl, case)
    assert case["state"] == "in_review" and case["review_level"] == 1
    case = await api.claim_decide(case, ppl.reviewer)
    assert case["state"] == "issued" and case["document"]["outcome"] == "approved"
    history = await api.get(f"/cases/{case['id']}/timeline", ppl.supervisor)
    assert [(i["from"], i["to"]) for i in history["items"] if i["action"] == "approve"] == [
        ("in_review", "approved")
    ]
    approve = next(i for i in history["items"] if i["action"] == "approve")
    assert approve["actor_id"] == ppl.reviewer.account.id and approve["actor_role"] == "reviewer"
    await seal_all(c)
    report = await verify_chain(c)
    assert report.ok and report.checked >= 6


async def test_tolerance_case_waits_for_materials_then_issues(api, ppl):
    case = await _claim_case(api, ppl, materials=ALL_CLAIM_MATERIALS[:1])
    case = await _accept(api, ppl, case)
    assert case["open_gaps"] == 1 and case["tolerance_due_at"]
    assert {m["key"]: m["status"] for m in case["materials"]} == {
        "invoice": "provided",
        "medical_record": "missing",
    }
    case = await api.claim_decide(case, ppl.reviewer)
    assert case["state"] == "approved"  # cannot be issued while a 容缺 material is missing
    assert case["document"] is None
    case = await api.post(
        f"/cases/{case['id']}/materials",
        ppl.citizen,
        {
            "version": case["version"],
            "materials": await uploaded(api, ppl.citizen, ALL_CLAIM_MATERIALS[1:]),
        },
    )
    assert case["state"] == "issued" and case["open_gaps"] == 0


async def test_tolerance_deadline_passed_closes_the_case(api, ppl, c, clock):
    case = await _claim_case(api, ppl, materials=ALL_CLAIM_MATERIALS[:1])
    case = await _accept(api, ppl, case)
    task = await api.open_task(case["id"], ppl.reviewer)
    clock.advance(days=2)
    assert (await sweeper.sweep(c)).closed == 0  # 3 working days: not yet
    clock.advance(days=14)
    report = await sweeper.sweep(c)
    assert report.closed == 1
    await relogin(c, ppl)
    case = await api.get(f"/cases/{case['id']}", ppl.citizen)
    assert case["state"] == "closed"
    assert (await CaseTask.get(id=task["id"])).status.value == "cancelled"
    # the citizen is told, and late materials are refused
    inbox = await api.get("/me/inbox", ppl.citizen)
    assert "容缺材料逾期" in inbox["items"][0]["body"]
    await api.post(
        f"/cases/{case['id']}/materials",
        ppl.citizen,
        {
            "version": case["version"],
            "materials": await uploaded(api, ppl.citizen, ALL_CLAIM_MATERIALS[1:]),
        },
        expect=409,
    )


async def test_correction_and_resubmission(api, ppl):
    case = await _claim_case(api, ppl)
    await _accept(api, ppl, case, "correct", reason_code="NOPE", expect=None)
    corrected = await _accept(api, ppl, case, "correct", reason_code="C01")
    assert corrected["state"] == "correction" and corrected["sla"] == "paused"
    resubmitted = await api.post(
        f"/cases/{case['id']}/resubmit",
        ppl.citizen,
        {
            "version": corrected["version"],
            "form": {"amount": "1300.00"},
            "materials": await uploaded(api, ppl.citizen, ALL_CLAIM_MATERIALS),
        },
    )
    assert resubmitted["state"] == "submitted" and resubmitted["form"]["amount"] == "1300.00"
    accepted = await _accept(api, ppl, resubmitted)
    assert accepted["state"] == "in_review"


async def test_not_accepted_with_coded_reason(api, ppl):
    case = await _claim_case(api, ppl)
    refused = await _accept(api, ppl, case, "refuse", reason_code="R02")
    assert refused["state"] == "not_accepted"
    assert refused["reason_code"] == "R02" and refused["reason_text"] == "申请人不符合申请条件"


async def test_rejection_with_coded_reason_and_text(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    fresh = await api.get(f"/cases/{case['id']}", ppl.reviewer)
    bad = {"case_version": fresh["version"], "decision": "reject", "reason_code": "ZZ"}
    resp = await api.post(f"/review/tasks/{task['id']}/decision", ppl.reviewer, bad, expect=422)
    assert resp["error"]["code"] == "REASON_UNKNOWN"
    rejected = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer,
        {**bad, "reason_code": "J02", "reason_text": "发票真伪核验未通过"},
    )
    assert rejected["state"] == "rejected" and rejected["reason_text"] == "发票真伪核验未通过"
    assert rejected["document"]["outcome"] == "rejected"


async def test_return_for_supplement_pauses_and_returns_to_the_same_reviewer(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    returned = await api.claim_decide(case, ppl.reviewer, "return", reason_code="S01")
    assert returned["state"] == "supplement" and returned["sla"] == "paused"
    back = await api.post(
        f"/cases/{case['id']}/materials",
        ppl.citizen,
        {
            "version": returned["version"],
            "materials": await uploaded(api, ppl.citizen, ALL_CLAIM_MATERIALS[1:]),
        },
    )
    assert back["state"] == "in_review"
    mine = await api.get("/review/queue?mine=true", ppl.reviewer)
    assert [t["case_id"] for t in mine["items"]] == [case["id"]]


async def test_two_level_review_needs_a_different_second_reviewer(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl, amount="8000.00"))
    assert case["required_levels"] == 2
    after_first = await api.claim_decide(case, ppl.reviewer)
    assert after_first["state"] == "in_review" and after_first["review_level"] == 2
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    resp = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer,
        {"case_version": after_first["version"], "decision": "approve"},
        expect=403,
    )
    assert resp["error"]["code"] == "FOUR_EYES"
    unchanged = await api.get(f"/cases/{case['id']}", ppl.reviewer)
    assert unchanged["version"] == after_first["version"]
    await api.post(f"/review/tasks/{task['id']}/release", ppl.reviewer)
    final = await api.claim_decide(case, ppl.reviewer2)
    assert final["state"] == "issued"


async def test_withdrawal_before_review_but_not_after_claim(api, ppl):
    case = await _claim_case(api, ppl)
    withdrawn = await api.post(
        f"/cases/{case['id']}/withdraw", ppl.citizen, {"version": case["version"]}
    )
    assert withdrawn["state"] == "withdrawn"
    other = await _accept(api, ppl, await _claim_case(api, ppl))
    task = await api.open_task(other["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    resp = await api.post(
        f"/cases/{other['id']}/withdraw", ppl.citizen, {"version": other["version"]}, expect=409
    )
    assert resp["error"]["code"] == "REVIEW_STARTED"
    assert (await api.get(f"/cases/{other['id']}", ppl.citizen))["state"] == "in_review"


async def test_rating_once_after_completion(api, ppl):
    case = await _claim_case(api, ppl)
    early = await api.post(f"/cases/{case['id']}/rating", ppl.citizen, {"score": 5}, expect=409)
    assert early["error"]["code"] == "NOT_RATABLE"
    done = await api.claim_decide(await _accept(api, ppl, case), ppl.reviewer)
    rated = await api.post(
        f"/cases/{done['id']}/rating", ppl.citizen, {"score": 4, "comment": "很方便"}
    )
    assert rated["rating"]["score"] == 4
    again = await api.post(f"/cases/{done['id']}/rating", ppl.citizen, {"score": 1}, expect=409)
    assert again["error"]["code"] == "ALREADY_RATED"
    await api.post(f"/cases/{done['id']}/rating", ppl.citizen, {"score": 6}, expect=422)
    assert (await api.get(f"/cases/{done['id']}", ppl.citizen))["rating"]["score"] == 4


# -- assisted requests and scoping ---------------------------------------------------------------


async def _assisted(api: Api, ppl: People, **extra) -> dict:
    id_number = extra.pop("id_number")
    keys = ("id_card", "bank_card", "bank_confirmation")
    mats = await uploaded(api, ppl.clerk, [{"key": k} for k in keys], applicant_id_number=id_number)
    return {
        "service_code": "insurance_info_change",
        "applicant_id_number": id_number,
        "form": {
            "change_type": "bank_account",
            "bank_name": "工商银行",
            "bank_account": "6222020200112233445",
        },
        "materials": mats,
        **extra,
    }


async def _id_number_of(c, login) -> str:
    return c.pii.decrypt(login.person.id_number_enc, "id_number")


async def test_assisted_request_needs_authorisation(api, ppl, c):
    idn = await _id_number_of(c, ppl.citizen)
    missing = await api.post(
        "/station/cases", ppl.clerk, await _assisted(api, ppl, id_number=idn), expect=422
    )
    assert missing["error"]["code"] == "AUTHORISATION_REQUIRED"
    # confirmed in the app
    case = await api.post(
        "/station/cases",
        ppl.clerk,
        await _assisted(api, ppl, id_number=idn, authorisation_method="app"),
        expect=201,
    )
    assert case["state"] == "awaiting_authorisation" and case["due_at"] is None
    assert case["form"]["bank_account"] == "***************3445"
    # nobody can accept it before the citizen authorises
    await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.clerk,
        {"version": case["version"], "outcome": "accept"},
        expect=409,
    )
    pending = await api.get("/me/case-authorisations", ppl.citizen)
    assert [p["id"] for p in pending["items"]] == [case["id"]]
    await api.post(
        f"/cases/{case['id']}/authorisation",
        ppl.other_citizen,
        {"version": case["version"], "decision": "confirm"},
        expect=404,
    )
    confirmed = await api.post(
        f"/cases/{case['id']}/authorisation",
        ppl.citizen,
        {"version": case["version"], "decision": "confirm"},
    )
    assert confirmed["state"] == "submitted" and confirmed["authorisation"]["status"] == "granted"
    assert confirmed["due_at"] is not None
    # the station is the front desk of its own requests; bank changes need two reviewers
    accepted = await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.clerk,
        {"version": confirmed["version"], "outcome": "accept"},
    )
    assert accepted["state"] == "in_review" and accepted["required_levels"] == 2


async def test_assisted_with_signed_form_and_declined_authorisation(api, ppl, c):
    idn = await _id_number_of(c, ppl.citizen)
    no_form = await _assisted(api, ppl, id_number=idn, authorisation_method="signed_form")
    resp = await api.post("/station/cases", ppl.clerk, no_form, expect=422)
    assert resp["error"]["code"] == "AUTHORISATION_FORM_REQUIRED"
    signed = await api.post(
        "/station/cases",
        ppl.clerk,
        {**no_form, "authorisation_form_ref": "f/auth.pdf", "authorisation_form_number": "SQ-001"},
        expect=201,
    )
    assert signed["state"] == "submitted"
    assert signed["authorisation"] == {
        "method": "signed_form",
        "status": "granted",
        "form_number": "SQ-001",
        "form_ref": "f/auth.pdf",
        "decided_at": signed["authorisation"]["decided_at"],
    }
    waiting = await api.post(
        "/station/cases",
        ppl.clerk,
        await _assisted(api, ppl, id_number=idn, authorisation_method="app"),
        expect=201,
    )
    declined = await api.post(
        f"/cases/{waiting['id']}/authorisation",
        ppl.citizen,
        {"version": waiting["version"], "decision": "decline"},
    )
    assert declined["state"] == "withdrawn"
    assert declined["authorisation"]["status"] == "declined"


async def test_station_scoping_and_delegated_items(api, ppl, c):
    idn = await _id_number_of(c, ppl.citizen)
    body = await _assisted(api, ppl, id_number=idn, authorisation_method="app")
    case = await api.post("/station/cases", ppl.clerk, body, expect=201)
    # another station neither lists nor sees it
    assert (await api.get("/station/cases", ppl.clerk_b))["total"] == 0
    await api.get(f"/cases/{case['id']}", ppl.clerk_b, expect=404)
    assert [x["id"] for x in (await api.get("/station/cases", ppl.clerk))["items"]] == [case["id"]]
    # someone else's case is "not found" for a citizen too
    await api.get(f"/cases/{case['id']}", ppl.other_citizen, expect=404)
    # a village station without the item delegated cannot accept it
    village = await make_staff(c, Role.STATION_STAFF, "clerk-v", station=ppl.stations["village_b"])
    resp = await api.post("/station/cases", village, body, expect=403)
    assert resp["error"]["code"] == "ITEM_NOT_DELEGATED"
    # reviewers only see queues of their categories
    await api.get("/review/queue?category=enrollment", ppl.reviewer3, expect=422)
    # a filter that names no known service or category is refused, not an empty page
    for path in ("/review/queue?service_code=true", "/review/queue?category=nope"):
        await api.get(path, ppl.reviewer, expect=422)
    await api.get(
        "/admin/case-stats?date_from=2025-09-01&date_to=2025-09-30&service_code=x",
        ppl.admin,
        expect=422,
    )


# -- forbidden transitions, bad input, idempotency, stale versions ---------------------------


async def test_forbidden_transitions_change_nothing(api, ppl):
    case = await _claim_case(api, ppl)
    before = await Case.get(id=case["id"])
    events = await CaseEvent.filter(case_id=case["id"]).count()
    # wrong role
    await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.citizen,
        {"version": case["version"], "outcome": "accept"},
        expect=403,
    )
    # wrong state: the case is not under review; deciding or supplementing makes no sense
    mats = await uploaded(api, ppl.citizen, ALL_CLAIM_MATERIALS)
    supply = {"version": case["version"], "materials": mats}
    await api.post(f"/cases/{case['id']}/materials", ppl.citizen, supply, expect=409)
    await api.post(
        f"/cases/{case['id']}/resubmit", ppl.citizen, {"version": case["version"]}, expect=409
    )
    # a reviewer who did not claim the task cannot decide it
    accepted = await _accept(api, ppl, case)
    task = await api.open_task(case["id"], ppl.reviewer)
    resp = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer,
        {"case_version": accepted["version"], "decision": "approve"},
        expect=409,
    )
    assert resp["error"]["code"] == "TASK_NOT_HELD"
    # accepting twice
    await _accept(api, ppl, accepted, expect=409)
    after = await Case.get(id=case["id"])
    assert after.state == "in_review" and after.version == accepted["version"]
    assert before.version < after.version
    assert await CaseEvent.filter(case_id=case["id"]).count() == events + 2  # accept + route


async def test_malformed_and_mistyped_input_is_refused(api, ppl, client):
    _, resp = await client.post("/api/v1/cases", content="{not json", headers=ppl.citizen.headers)
    assert resp.status == 422 and resp.json["error"]["code"] == "MALFORMED_JSON"
    resp = await api.post("/cases", ppl.citizen, {"service_code": 5, "form": []}, expect=422)
    assert resp["error"]["code"] == "VALIDATION_FAILED"
    resp = await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "phone", "new_phone": "12345"},
        },
        expect=422,
    )
    assert resp["error"]["code"] == "FORM_INVALID"
    assert resp["error"]["details"]["fields"][0]["field"] == "form.new_phone"
    resp = await api.post("/cases", ppl.citizen, claim_form("12.345"), expect=422)
    assert resp["error"]["code"] == "FORM_INVALID"
    await api.post("/cases", ppl.citizen, {"service_code": "nope", "form": {}}, expect=422)
    case = await _claim_case(api, ppl)
    await api.post(f"/cases/{case['id']}/withdraw", ppl.citizen, {"version": "1"}, expect=422)
    assert await Case.filter(state="submitted").count() == 1


async def test_repeated_decision_with_same_idempotency_key_returns_first_result(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    decision = {"case_version": case["version"], "decision": "approve"}
    key = {"Idempotency-Key": "decide-1"}
    first = await api.call(
        "post", f"/review/tasks/{task['id']}/decision", ppl.reviewer, json=decision, headers=key
    )
    again = await api.call(
        "post", f"/review/tasks/{task['id']}/decision", ppl.reviewer, json=decision, headers=key
    )
    assert again.json == first.json and first.json["state"] == "issued"
    assert await CaseEvent.filter(case_id=case["id"], action="approve").count() == 1
    await api.call(
        "post",
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer,
        json={**decision, "decision": "reject"},
        headers=key,
        expect=409,
    )


async def test_decision_on_a_stale_version_is_a_conflict(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    resp = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer,
        {"case_version": case["version"] - 1, "decision": "approve"},
        expect=409,
    )
    assert resp["error"]["code"] == "CASE_CHANGED"
    assert (await api.get(f"/cases/{case['id']}", ppl.citizen))["state"] == "in_review"


async def test_supervisor_reassigns(api, ppl):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    await api.post(
        f"/review/tasks/{task['id']}/reassign",
        ppl.reviewer,
        {"to_account_id": ppl.reviewer2.account.id},
        expect=403,
    )
    await api.post(
        f"/review/tasks/{task['id']}/reassign",
        ppl.supervisor,
        {"to_account_id": ppl.reviewer3.account.id},
        expect=422,
    )
    moved = await api.post(
        f"/review/tasks/{task['id']}/reassign",
        ppl.supervisor,
        {"to_account_id": ppl.reviewer2.account.id},
    )
    assert moved["holder_id"] == ppl.reviewer2.account.id
    done = await api.post(
        f"/review/tasks/{task['id']}/decision",
        ppl.reviewer2,
        {"case_version": case["version"], "decision": "approve"},
    )
    assert done["state"] == "issued"


# -- the sweeper, versions, statistics --------------------------------------------------------


async def test_sweeper_warns_escalates_and_never_doubles(api, ppl, c, clock):
    case = await _accept(api, ppl, await _claim_case(api, ppl))
    # 10 working days after Fri 26 Sep over the National Day holidays (Sep 28 and Oct 11 are
    # worked): due at the end of Oct 16; warning from 70% of that time, on Oct 10 evening.
    clock.advance(days=14)
    assert (await sweeper.sweep(c)).warned == 0
    clock.advance(days=1)
    first = await sweeper.sweep(c)
    assert first.warned == 1 and first.overdue == 0
    clock.advance(days=8)
    assert (await sweeper.sweep(c)).overdue == 1
    assert (await sweeper.sweep(c)).overdue == 0  # running it again does nothing
    assert (await sweeper.sweep_unlocked(c)).overdue == 0
    await relogin(c, ppl)
    detail = await api.get(f"/cases/{case['id']}", ppl.citizen)
    assert detail["sla"] == "overdue"
    escalated = await api.get("/supervisor/escalations", ppl.supervisor)
    assert [t["case_id"] for t in escalated["items"]] == [case["id"]]
    await api.get("/supervisor/escalations", ppl.reviewer, expect=403)
    assert await CaseEvent.filter(case_id=case["id"], action="sla_overdue").count() == 1
    assert await InboxMessage.filter(body__contains="超过承诺时限").count() == 1
    overdue_first = await api.get("/review/queue?overdue_only=true", ppl.reviewer)
    assert [t["case_id"] for t in overdue_first["items"]] == [case["id"]]


async def test_running_case_stays_on_its_definition_version(
    api, ppl, with_test_definitions: Registry
):
    old = await _accept(api, ppl, await _claim_case(api, ppl, amount="8000.00"))
    assert old["definition_version"] == 1 and old["required_levels"] == 2
    with_test_definitions.register(TEST_CLAIM_V2)  # published while the first case runs
    new = await _accept(api, ppl, await _claim_case(api, ppl, amount="8000.00"))
    assert new["definition_version"] == 2 and new["required_levels"] == 1
    after_first = await api.claim_decide(old, ppl.reviewer)
    assert after_first["state"] == "in_review"  # still two levels: v1 rules
    assert (await api.claim_decide(new, ppl.reviewer))["state"] == "issued"


async def test_statistics_for_admins(api, ppl, c):
    await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "address", "new_address": "东城街道1号"},
        },
        expect=201,
    )
    done = await api.claim_decide(
        await _accept(api, ppl, await _claim_case(api, ppl)), ppl.reviewer
    )
    await api.post(f"/cases/{done['id']}/rating", ppl.citizen, {"score": 5})
    idn = await _id_number_of(c, ppl.citizen)
    await api.post(
        "/station/cases",
        ppl.clerk,
        {
            **await _assisted(api, ppl, id_number=idn, authorisation_method="signed_form"),
            "authorisation_form_ref": "f/a.pdf",
            "authorisation_form_number": "SQ-9",
        },
        expect=201,
    )
    await api.get(
        "/admin/case-stats?date_from=2025-09-01&date_to=2025-09-30", ppl.reviewer, expect=403
    )
    stats = await api.get(
        "/admin/case-stats?date_from=2025-09-01&date_to=2025-09-30&group_by=channel", ppl.admin
    )
    overall = stats["overall"]
    assert overall["cases"] == 3 and overall["app_cases"] == 2
    assert overall["app_share"] == pytest.approx(0.6667, abs=1e-4)
    assert overall["completed"] == 2 and overall["on_time_rate"] == 1.0
    assert overall["ratings"] == 1 and overall["avg_rating"] == 5.0
    assert {g["key"]: g["cases"] for g in stats["groups"]} == {"app": 2, "station": 1}
    by_month = await api.get(
        "/admin/case-stats?date_from=2025-08-01&date_to=2025-09-30&group_by=period", ppl.admin
    )
    assert [(g["key"], g["cases"]) for g in by_month["groups"]] == [("2025-08", 0), ("2025-09", 3)]
    by_service = await api.get(
        "/admin/case-stats?date_from=2025-09-01&date_to=2025-09-30&group_by=service", ppl.admin
    )
    assert {g["key"] for g in by_service["groups"]} == {"insurance_info_change", "test_claim"}
    await api.get(
        "/admin/case-stats?date_from=2025-09-30&date_to=2025-09-01", ppl.admin, expect=422
    )


async def test_citizen_must_be_bound_to_apply(api, c, clock):
    clock.set(FRIDAY)
    unbound = await make_citizen(c, "unbound", bind=False)
    resp = await api.post("/cases", unbound, claim_form(), expect=403)
    assert resp["error"]["code"] == "BINDING_REQUIRED"
    assert adult_id_number(c)  # the factory module stays importable for others


async def test_issued_change_is_written_to_the_person_record(api, ppl, c, client):
    from backend.identity.models import Person

    person_id = ppl.citizen.person.id
    await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "phone", "new_phone": "13912345678"},
        },
        expect=201,
    )
    person = await Person.get(id=person_id)
    assert c.pii.decrypt(person.phone_enc, "phone") == "13912345678"
    me = await api.get("/me", ppl.citizen)
    assert me["phone"] == "139****5678"  # the cached profile was dropped on issuance
    await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "address", "new_address": "杭州市西湖区文三路 1 号"},
        },
        expect=201,
    )
    person = await Person.get(id=person_id)
    assert c.pii.decrypt(person.address_enc, "address") == "杭州市西湖区文三路 1 号"


async def test_a_bank_account_change_reaches_the_record_only_when_issued(api, ppl, c):
    from backend.identity.models import Person

    case = await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "insurance_info_change",
            "form": {
                "change_type": "bank_account",
                "bank_name": "工商银行",
                "bank_account": "6222021234567890123",
            },
            "materials": await uploaded(
                api, ppl.citizen, [{"key": "bank_card"}, {"key": "bank_confirmation"}]
            ),
        },
        expect=201,
    )
    assert case["state"] != "issued"  # waits for the front desk and two reviewers
    person = await Person.get(id=ppl.citizen.person.id)
    assert person.payout_account_enc is None
    case = await _accept(api, ppl, case)
    first = await api.claim_decide(case, ppl.reviewer)
    assert first["state"] == "in_review"  # second level still to come: nothing written yet
    assert (await Person.get(id=ppl.citizen.person.id)).payout_account_enc is None
    final = await api.claim_decide(first, ppl.reviewer2)
    assert final["state"] == "issued"
    person = await Person.get(id=ppl.citizen.person.id)
    assert person.payout_bank_name == "工商银行"
    assert c.pii.decrypt(person.payout_account_enc, "bank_account") == "6222021234567890123"
