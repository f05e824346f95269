"""Races on PostgreSQL: one active filing per person and category, one qualification per
disease, whatever the timing of concurrent submissions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from backend.cases.models import Case
from backend.chronic import service as chronic
from backend.chronic.models import ChronicQualification
from backend.errors import Conflict
from backend.filings import service as filings
from backend.filings.models import RemoteCareFiling
from backend.identity.principal import Principal
from tests.case_helpers import FRIDAY, upload_documents
from tests.factories import make_citizen

pytestmark = pytest.mark.usefixtures("on_postgres")


def as_principal(login) -> Principal:
    a = login.account
    return Principal(a.id, a.role, "test", a.station_id, ())


def _filing(filing_type: str, city: str, letter: list[dict[str, str]]) -> filings.FilingRequest:
    return filings.FilingRequest(
        filing_type=filing_type,
        province_code="440000",
        city_code=city,
        start_date=FRIDAY.date(),
        use_commitment=True,
        materials=letter,
    )


async def test_concurrent_filings_of_one_category_leave_exactly_one(c, clock):
    clock.set(FRIDAY)
    citizen = await make_citizen(c, "race-filer", name="钱多多")
    who = as_principal(citizen)
    cities = ["440300", "440100", "440400", "440600", "440700", "440800"]
    kinds = ["long_term_resident", "posted_worker", "retiree_resettled"]
    letter = await upload_documents(c, who, ["commitment_letter"])
    results = await asyncio.gather(
        *(
            filings.submit(c, who, _filing(kinds[i % 3], city, letter))
            for i, city in enumerate(cities)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1, results
    assert all(isinstance(e, Conflict) and e.status == 409 for e in losers), losers
    assert await RemoteCareFiling.filter(status="active").count() == 1
    assert await Case.all().count() == 1


async def test_concurrent_change_and_cancel_do_not_both_win(c, clock):
    clock.set(FRIDAY)
    citizen = await make_citizen(c, "race-changer", name="孙悟净")
    who = as_principal(citizen)
    letter = await upload_documents(c, who, ["commitment_letter"])
    temporary = filings.FilingRequest(
        filing_type="other_temporary",
        province_code="440000",
        city_code="440300",
        start_date=FRIDAY.date(),
        materials=letter,
    )
    await filings.submit(c, who, temporary)
    filing = await RemoteCareFiling.get(person_id=citizen.person.id)
    new = filings.FilingRequest(
        filing_type="other_temporary",
        province_code="440000",
        city_code="440100",
        start_date=FRIDAY.date() + timedelta(days=1),
        materials=letter,
    )
    results = await asyncio.gather(
        filings.cancel(c, who, filing.id, version=filing.version, reason="不去了"),
        filings.cancel(c, who, filing.id, version=filing.version, reason="不去了"),
        filings.change(c, who, filing.id, version=filing.version, reason="改去广州", req=new),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1, results  # a cancel, or the change (instant), never both
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    active = await RemoteCareFiling.filter(person_id=citizen.person.id, status="active")
    assert len(active) == (1 if isinstance(wins[0], Case) else 0)


async def test_concurrent_fast_track_applications_qualify_once(c, clock):
    clock.set(FRIDAY)
    citizen = await make_citizen(c, "race-patient", name="周芷若")
    who = as_principal(citizen)
    req = chronic.ChronicRequest(
        disease_code="M00503",
        diagnosis_date=FRIDAY.date(),
        diagnosis_hospital="浙江省肿瘤医院",
        diagnosis_hospital_level=3,
        designated_institutions=["浙江省肿瘤医院"],
        materials=await upload_documents(
            c, who, ["diagnosis_certificate", "pathology_report", "treatment_record"]
        ),
    )
    results = await asyncio.gather(
        *(chronic.submit(c, who, req) for _ in range(6)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await ChronicQualification.filter(status="active").count() == 1
    # the reminder job twice at once sends one reminder
    clock.set(FRIDAY + timedelta(days=700))
    runs = await asyncio.gather(*(chronic.remind_renewals(c) for _ in range(4)))
    assert sum(r["reminded"] for r in runs) == 1
