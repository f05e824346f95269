"""One lock order (docs/lock-order.md): person, then case, then task; the audit chain takes no
lock in a business transaction. Accepting a person's case while a referral is filed for the
same person used to deadlock every time (person → audit head against audit head → person)."""

from __future__ import annotations

import asyncio

import pytest

from backend.audit.sealer import seal_all
from backend.audit.service import verify_chain
from backend.cases import acceptance, submission
from backend.cases.models import Case
from backend.filings import service as filings
from backend.identity.models import Role
from backend.identity.principal import Principal
from tests.case_helpers import FRIDAY, upload_documents
from tests.factories import adult_id_number, make_citizen, make_staff

pytestmark = pytest.mark.usefixtures("on_postgres")

PAIRS = 50


def principal(login) -> Principal:
    a = login.account
    return Principal(a.id, a.role, "test", a.station_id, tuple(a.categories or ()))


def referral(document: list[dict[str, str]]) -> filings.FilingRequest:
    return filings.FilingRequest(
        filing_type="referral",
        province_code="440000",
        city_code="440300",
        start_date=FRIDAY.date(),
        destination_hospital="深圳市人民医院",
        materials=document,
    )


@pytest.mark.usefixtures("with_test_definitions")
async def test_accepting_a_case_while_a_referral_is_filed_never_deadlocks(c, clock):
    clock.set(FRIDAY)
    desk = principal(await make_staff(c, Role.REVIEWER, "desk", categories=("front_desk",)))
    pending = []
    for i in range(PAIRS):
        citizen = principal(await make_citizen(c, f"lock-{i}", id_number=adult_id_number(c, seq=i)))
        materials = await upload_documents(c, citizen, ["invoice", "medical_record"])
        case = await submission.submit(
            c, citizen, submission.NewCase("test_claim", {"amount": "100.00"}, materials)
        )
        document = await upload_documents(c, citizen, ["referral_document"])
        pending.append((citizen, case, document))

    async def pair(citizen: Principal, case: Case, document: list[dict[str, str]]) -> list:
        return await asyncio.gather(
            acceptance.accept(c, desk, case.id, version=case.version, outcome="accept"),
            filings.submit(c, citizen, referral(document)),
            return_exceptions=True,
        )

    results = [
        r
        for pair_results in await asyncio.gather(*(pair(*p) for p in pending))
        for r in pair_results
    ]
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    accepted = [p[1].id for p in pending]
    assert await Case.filter(id__in=accepted, state="in_review").count() == PAIRS
    assert await Case.filter(service_code="remote_care_filing", state="submitted").count() == PAIRS
    await seal_all(c)
    assert (await verify_chain(c)).ok
