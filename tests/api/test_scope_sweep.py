"""Role isolation for every id-bearing endpoint, for every role: a table-driven sweep over the
app's router. Each route with an id in its path has a rule here saying, for each role, whether
that role may reach *someone else's* record through it; the sweep calls every denied
combination with the ids of a victim's real records and requires a 401, 403 or 404.

A route the table does not know fails :func:`test_every_id_bearing_route_has_a_scope_rule`:
adding an endpoint means deciding its scope here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from backend.cases.models import Case, CaseDocument, CaseTask, CaseUpload, InboxMessage
from backend.chronic.models import ChronicQualification, QualificationStatus
from backend.claims.models import (
    Claim,
    ClaimInvoice,
    ClaimStatus,
    Disbursement,
    DisbursementStatus,
)
from backend.enrollment.models import CategoryChange, ChangeStatus
from backend.family.models import ConsentStatus, FamilyMember, Relation, StationAuthorisation
from backend.filings.models import FilingCategory, FilingStatus, RemoteCareFiling
from backend.identity.models import Role
from backend.identity.persons import find_or_create_person
from backend.payments.models import OrderStatus, PaymentOrder
from backend.vouchers.models import Voucher, VoucherStatus
from tests.factories import (
    Login,
    adult_id_number,
    make_citizen,
    make_staff,
    make_station_tree,
    minor_id_number,
)

ROLES = ("anonymous", "other_citizen", "other_clerk", "reviewer", "finance", "supervisor", "admin")
D, A = "deny", "allow"  # allow: by design (a functional test covers it); deny: swept here


def rule(**overrides: str) -> dict[str, str]:
    """Everyone denied unless named."""
    return {role: overrides.get(role, D) for role in ROLES}


CITIZEN_OWN = rule()  # /me/...: only the citizen it belongs to
ADMIN_ONLY = rule(admin=A)
PUBLIC = rule(
    anonymous=A, other_citizen=A, other_clerk=A, reviewer=A, finance=A, supervisor=A, admin=A
)
ALL_STATIONS = rule(supervisor=A, admin=A)  # station-scoped: other stations' clerks denied
CASE_STAFF = rule(supervisor=A, admin=A)  # cases: the case's station, its reviewers, oversight
FINANCE = rule(finance=A, supervisor=A, admin=A)

# Staff console pages (HTML) take a console session, not a bearer token: swept here, every
# caller of the API is sent to the console login; isolation between console users (station,
# role, CSRF) is swept by tests/browser/test_isolation.py.
CONSOLE = rule()
CONSOLE_ROUTES = [
    ("GET", "/console/cases/<case_id:int>", "case"),
    ("GET", "/console/materials/<upload_id:int>", "upload"),
    ("GET", "/console/materials/<upload_id:int>/original", "upload"),
    ("GET", "/console/claims/<claim_id:int>/invoices/<invoice_id:int>/image", "claim"),
    ("GET", "/console/review/cases/<case_id:int>", "case"),
    ("POST", "/console/admin/accounts/<account_id:int>/deactivate", "account"),
    ("POST", "/console/admin/stations/<station_id:int>/items", "station"),
    ("POST", "/console/admin/terminals/<key_id:str>/disable", "terminal"),
    ("POST", "/console/cases/<case_id:int>/acceptance", "case"),
    ("POST", "/console/finance/payouts/<payout_id:int>/paid", "disbursement"),
    ("POST", "/console/review/claims/<claim_id:int>/invoices/<invoice_id:int>", "claim"),
    ("POST", "/console/review/tasks/<task_id:int>/claim", "task"),
    ("POST", "/console/review/tasks/<task_id:int>/decision", "task"),
    ("POST", "/console/review/tasks/<task_id:int>/release", "task"),
    ("POST", "/console/supervisor/tasks/<task_id:int>/reassign", "task"),
    ("GET", "/console/station/requests/<service_code:str>", "service_code"),
    ("POST", "/console/station/requests/<service_code:str>", "service_code"),
    ("GET", "/console/station/claims/<claim_id:int>", "claim"),
    ("POST", "/console/station/claims/<claim_id:int>/invoices", "claim"),
    ("POST", "/console/station/claims/<claim_id:int>/submit", "claim"),
]

RULES: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    **{(method, path): (resource, CONSOLE) for method, path, resource in CONSOLE_ROUTES},
    ("GET", "/assets/console/<name:str>"): ("asset", PUBLIC),  # static files
    ("GET", "/assets/vendor/<name:str>"): ("asset", PUBLIC),
    ("POST", "/api/v1/admin/accounts/<account_id:int>/deactivate"): ("account", ADMIN_ONLY),
    ("GET", "/api/v1/me/family/<member_id:int>"): ("family_link", CITIZEN_OWN),
    ("DELETE", "/api/v1/me/family/<member_id:int>"): ("family_link", CITIZEN_OWN),
    ("POST", "/api/v1/me/family/guardianship/<link_id:int>/objection"): (
        "family_link",
        CITIZEN_OWN,
    ),
    ("POST", "/api/v1/me/consents/<link_id:int>/grant"): ("consent_link", CITIZEN_OWN),
    ("POST", "/api/v1/me/consents/<link_id:int>/decline"): ("consent_link", CITIZEN_OWN),
    ("POST", "/api/v1/me/authorisations/<form_id:int>/withdraw"): ("authorisation", CITIZEN_OWN),
    ("GET", "/api/v1/stations/<station_id:int>"): ("station", PUBLIC),  # no personal data
    ("PUT", "/api/v1/stations/<station_id:int>/items"): ("station", ADMIN_ONLY),
    ("GET", "/api/v1/station/authorisations/<form_id:int>"): ("authorisation", ALL_STATIONS),
    ("POST", "/api/v1/me/inbox/<message_id:int>/read"): ("message", CITIZEN_OWN),
    # Public by design: the unguessable code is the key, and the page is masked.
    ("GET", "/api/v1/case-documents/verify/<code:str>"): ("document_code", PUBLIC),
    ("GET", "/api/v1/cases/<case_id:int>"): ("case", CASE_STAFF),
    ("GET", "/api/v1/cases/<case_id:int>/timeline"): ("case", CASE_STAFF),
    ("GET", "/api/v1/cases/<case_id:int>/document"): ("case", CASE_STAFF),
    ("GET", "/api/v1/cases/<case_id:int>/document/qr.svg"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/materials"): ("case", CASE_STAFF),
    ("GET", "/api/v1/cases/<case_id:int>/materials"): ("case", CASE_STAFF),
    ("GET", "/api/v1/case-materials/<upload_id:int>"): ("upload", CASE_STAFF),
    ("GET", "/api/v1/case-materials/<upload_id:int>/file"): ("upload", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/withdraw"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/rating"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/resubmit"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/acceptance"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/authorisation"): ("case", CASE_STAFF),
    ("POST", "/api/v1/cases/<case_id:int>/authorisation/form"): ("case", CASE_STAFF),
    ("POST", "/api/v1/review/tasks/<task_id:int>/claim"): ("task", CASE_STAFF),
    ("POST", "/api/v1/review/tasks/<task_id:int>/release"): ("task", CASE_STAFF),
    ("POST", "/api/v1/review/tasks/<task_id:int>/decision"): ("task", CASE_STAFF),
    ("POST", "/api/v1/review/tasks/<task_id:int>/reassign"): ("task", CASE_STAFF),
    ("GET", "/api/v1/me/remote-care-filings/<filing_id:int>"): ("filing", CITIZEN_OWN),
    ("POST", "/api/v1/me/remote-care-filings/<filing_id:int>/cancel"): ("filing", CITIZEN_OWN),
    ("POST", "/api/v1/me/remote-care-filings/<filing_id:int>/change"): ("filing", CITIZEN_OWN),
    ("GET", "/api/v1/me/chronic-qualifications/<qid:int>"): ("qualification", CITIZEN_OWN),
    ("POST", "/api/v1/me/chronic-qualifications/<qid:int>/renew"): (
        "qualification",
        CITIZEN_OWN,
    ),
    ("POST", "/api/v1/chronic/qualifications/<qid:int>/revoke"): ("qualification", CASE_STAFF),
    ("GET", "/api/v1/chronic/review/tasks/<task_id:int>/criteria"): ("task", CASE_STAFF),
    ("POST", "/api/v1/chronic/review/tasks/<task_id:int>/assessment"): ("task", CASE_STAFF),
    ("GET", "/api/v1/claims/<claim_id:int>"): ("claim", CASE_STAFF),
    ("POST", "/api/v1/claims/<claim_id:int>/submit"): ("claim", CASE_STAFF),
    ("POST", "/api/v1/claims/<claim_id:int>/resume"): ("claim", CASE_STAFF),
    ("POST", "/api/v1/claims/<claim_id:int>/invoices"): ("claim", CASE_STAFF),
    ("DELETE", "/api/v1/claims/<claim_id:int>/invoices/<invoice_id:int>"): ("claim", CASE_STAFF),
    ("GET", "/api/v1/claims/<claim_id:int>/invoices/<invoice_id:int>/image"): (
        "claim",
        CASE_STAFF,
    ),
    ("GET", "/api/v1/review/claims/<claim_id:int>"): ("claim", CASE_STAFF),
    ("PUT", "/api/v1/review/claims/<claim_id:int>/invoices/<invoice_id:int>/confirmation"): (
        "claim",
        CASE_STAFF,
    ),
    ("POST", "/api/v1/review/claims/<claim_id:int>/invoices/<invoice_id:int>/settlement-preview"): (
        "claim",
        CASE_STAFF,
    ),
    (
        "PUT",
        "/api/v1/review/claims/<claim_id:int>/invoices/<invoice_id:int>/items/<index:int>/class",
    ): (
        "claim",
        CASE_STAFF,
    ),
    ("POST", "/api/v1/finance/disbursements/<disbursement_id:int>/paid"): (
        "disbursement",
        FINANCE,
    ),
    ("GET", "/api/v1/enrollment/persons/<person_id:int>"): ("person", ALL_STATIONS),
    ("POST", "/api/v1/enrollment/persons/<person_id:int>/category-changes"): (
        "person",
        ALL_STATIONS,
    ),
    ("POST", "/api/v1/enrollment/category-changes/<change_id:int>/approve"): (
        "category_change",
        ALL_STATIONS,
    ),
    ("POST", "/api/v1/enrollment/category-changes/<change_id:int>/reject"): (
        "category_change",
        ALL_STATIONS,
    ),
    ("GET", "/api/v1/payments/orders/<order_id:int>"): ("order", ALL_STATIONS),
    ("POST", "/api/v1/payments/orders/<order_id:int>/cancel"): ("order", rule()),
    ("GET", "/api/v1/payments/orders/<order_id:int>/receipt"): ("order", ALL_STATIONS),
    ("POST", "/api/v1/payments/orders/<order_id:int>/refunds"): ("order", ALL_STATIONS),
    ("POST", "/api/v1/payments/orders/<order_id:int>/simulate-pay"): ("order", ALL_STATIONS),
    ("GET", "/api/v1/me/vouchers/<voucher_id:str>"): ("voucher", CITIZEN_OWN),
    ("GET", "/api/v1/me/vouchers/<voucher_id:str>/code"): ("voucher", CITIZEN_OWN),
    ("GET", "/api/v1/me/vouchers/<voucher_id:str>/uses"): ("voucher", CITIZEN_OWN),
    ("POST", "/api/v1/me/vouchers/<voucher_id:str>/revoke"): ("voucher", CITIZEN_OWN),
    ("POST", "/api/v1/me/vouchers/<voucher_id:str>/reactivate"): ("voucher", CITIZEN_OWN),
}

_PARAM = re.compile(r"<(\w+):\w+>")


def id_bearing_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        if _PARAM.search(path):
            routes.update(
                (method, path) for method in route.methods if method not in ("HEAD", "OPTIONS")
            )
    return routes


def test_every_id_bearing_route_has_a_scope_rule(stack):
    missing = id_bearing_routes(stack.app) - set(RULES)
    assert not missing, f"routes without a scope rule in {__name__}: {sorted(missing)}"


async def _world(c) -> tuple[dict[str, Any], dict[str, Login | None]]:
    """A victim citizen with one record of every kind, at station A; the roles that must not
    reach them: another citizen, a clerk of station B, a reviewer without categories, finance,
    a supervisor and an admin."""
    tree = await make_station_tree(c)
    station = tree["village_a"]
    now = c.clock.now()
    victim = await make_citizen(c, "victim", name="受害人", id_number=adult_id_number(c, 50))
    person = victim.person
    child = await find_or_create_person(c, "受害人子", minor_id_number(c, 5))
    family_link = await FamilyMember.create(
        owner=person,
        member=child,
        relation=Relation.CHILD,
        consent_status=ConsentStatus.NOT_REQUIRED,
    )
    asker = await find_or_create_person(c, "请求人", adult_id_number(c, 45, seq=777))
    consent_link = await FamilyMember.create(
        owner=asker, member=person, relation=Relation.SIBLING, consent_status=ConsentStatus.PENDING
    )
    home_clerk = await make_staff(c, Role.STATION_STAFF, "home-clerk", station=station)
    form = await StationAuthorisation.create(
        station=station,
        clerk=home_clerk.account,
        grantor=person,
        grantee=asker,
        purpose="assisted_case",
        form_number="SW-1",
        id_card_checked=True,
    )
    message = await InboxMessage.create(person=person, title="t", body="b", created_at=now)

    async def new_case(number: str, service: str, category: str) -> Case:
        return await Case.create(
            number=number,
            service_code=service,
            definition_version=1,
            category=category,
            state="in_review",
            channel="station",
            applicant=person,
            applicant_account_id=victim.account.id,
            submitted_by=home_clerk.account,
            station=station,
            delivery_method="app",
            created_at=now,
            updated_at=now,
            submitted_at=now,
        )

    case = await new_case("SWEEP-1", "insurance_info_change", "insurance_info")
    task = await CaseTask.create(
        case=case,
        level=1,
        category="insurance_info",
        service_code="insurance_info_change",
        station_id=station.id,
        created_at=now,
    )
    await CaseDocument.create(
        case=case,
        verification_code="SWEE-PCOD-E234-5678",
        title="t",
        outcome="approved",
        content={},
        delivery_method="app",
        issued_at=now,
    )
    filing = await RemoteCareFiling.create(
        serial="F-SWEEP-1",
        person=person,
        case=await new_case("SWEEP-2", "remote_care_filing", "remote_care"),
        filing_type="resident",
        type_name="异地长期居住",
        category=FilingCategory.LONG_TERM,
        province_code="110000",
        city_code="110100",
        start_date=date.today(),
        valid_from=date.today(),
        status=FilingStatus.ACTIVE,
        channel="app",
        created_at=now,
        updated_at=now,
    )
    qualification = await ChronicQualification.create(
        serial="Q-SWEEP-1",
        person=person,
        case=await new_case("SWEEP-3", "chronic_disease", "chronic_disease"),
        disease_code="M03900",
        disease_name="高血压",
        disease_category="chronic",
        valid_from=date.today(),
        status=QualificationStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    claim = await Claim.create(
        number="C-SWEEP-1",
        person=person,
        created_by=victim.account,
        channel="app",
        status=ClaimStatus.DRAFT,
        created_at=now,
        updated_at=now,
    )
    invoice = await ClaimInvoice.create(
        claim=claim,
        file_key="x.jpg",
        image_key="x.jpg",
        content_type="image/jpeg",
        size_bytes=1,
        width=900,
        height=1200,
        sha256="0" * 64,
        phash="0" * 16,
        band0="0000",
        band1="0000",
        band2="0000",
        band3="0000",
        created_at=now,
    )
    disbursement = await Disbursement.create(
        claim=claim,
        person_id=person.id,
        amount_fen=100,
        year=now.year,
        bank_name="b",
        bank_account_enc="",
        status=DisbursementStatus.SCHEDULED,
        due_date=date.today() + timedelta(days=5),
        created_at=now,
    )
    change = await CategoryChange.create(
        person=person,
        category="dibao",
        valid_from=date.today(),
        evidence_number="E-1",
        evidence_key="k",
        evidence_type="image/jpeg",
        evidence_sha256="0" * 64,
        status=ChangeStatus.PENDING,
        proposed_by=home_clerk.account,
        proposed_at=now,
    )
    order = await PaymentOrder.create(
        out_trade_no="SWEEP0000000001",
        year=now.year,
        status=OrderStatus.PAID,
        total_fen=100,
        description="d",
        created_by=home_clerk.account,
        channel="station",
        station_id=station.id,
        pay_method="native",
        expires_at=now,
        created_at=now,
        updated_at=now,
    )
    upload = await CaseUpload.create(
        person=person,
        case=case,
        uploaded_by=home_clerk.account,
        file_key="m.png",
        image_key="m.png",
        content_type="image/png",
        size_bytes=1,
        sha256="0" * 64,
        created_at=now,
    )
    voucher = await Voucher.create(
        id="SWEEPVOUCHER0001",
        person=person,
        holder=person,
        status=VoucherStatus.ACTIVE,
        activated_at=now,
        created_at=now,
    )
    ids: dict[str, Any] = {
        "account": victim.account.id,
        "family_link": family_link.id,
        "consent_link": consent_link.id,
        "authorisation": form.id,
        "station": station.id,
        "message": message.id,
        "document_code": "SWEE-PCOD-E234-5678",
        "case": case.id,
        "task": task.id,
        "filing": filing.id,
        "qualification": qualification.id,
        "claim": claim.id,
        "invoice": invoice.id,
        "disbursement": disbursement.id,
        "person": person.id,
        "category_change": change.id,
        "order": order.id,
        "voucher": voucher.id,
        "upload": upload.id,
        "item_index": 0,
        "terminal": "T-SWEEP",
        "asset": "none",
        "service_code": "insurance_info_change",
    }
    logins: dict[str, Login | None] = {
        "anonymous": None,
        "other_citizen": await make_citizen(c, "intruder", name="闯入者"),
        "other_clerk": await make_staff(c, Role.STATION_STAFF, "away", station=tree["village_b"]),
        "reviewer": await make_staff(c, Role.REVIEWER, "reviewer"),
        "finance": await make_staff(c, Role.FINANCE, "finance"),
        "supervisor": await make_staff(c, Role.SUPERVISOR, "supervisor"),
        "admin": await make_staff(c, Role.ADMIN, "admin"),
    }
    return ids, logins


def _url(path: str, resource: str, ids: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        key = {"invoice_id": "invoice", "index": "item_index"}.get(name, resource)
        return str(ids[key])

    return _PARAM.sub(fill, path)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
async def test_no_role_reaches_someone_elses_record(client, c, role):
    ids, logins = await _world(c)
    who = logins[role]
    headers = who.headers if who is not None else {}
    reached = []
    for (method, path), (resource, by_role) in sorted(RULES.items()):
        if by_role[role] != D:
            continue
        url = _url(path, resource, ids)
        _, resp = await client.request(method, url, json={}, headers=headers)
        to_login = resp.status in (302, 303) and "/console/login" in resp.headers.get(
            "location", ""
        )
        if resp.status not in (401, 403, 404, 422) and not to_login:
            reached.append(f"{method} {url} → {resp.status}")
        elif resp.status == 422:
            # A body check ran first: the record must still be out of reach with a valid body;
            # the validation answer names fields only, never the record.
            assert "受害人" not in resp.text, (method, url)
    assert not reached, f"{role} reached someone else's record: {reached}"
