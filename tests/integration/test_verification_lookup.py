"""``backend.vouchers.lookup.verification_facts`` (raw SQL, one statement for a whole batch of
verifications on PostgreSQL) agrees with the domain functions it mirrors:
``active_qualifications``, ``active_filings``, ``is_enrolled`` and ``status_of``, for persons
across states."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from itertools import count
from typing import Any

from backend.cases.models import Case
from backend.chronic.models import ChronicQualification, QualificationStatus
from backend.chronic.service import active_qualifications
from backend.clock import local_today
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.enrollment.service import is_enrolled, status_from, status_of
from backend.filings.models import FilingCategory, FilingStatus, RemoteCareFiling
from backend.filings.service import active_filings
from backend.identity.persons import masked_person_view, person_view
from backend.vouchers.lookup import FactsQuery, verification_facts
from backend.vouchers.models import UseMode, Voucher, VoucherStatus, VoucherUse
from tests.factories import make_citizen

_serials = count(1)


def as_json(results: list[Any]) -> list[dict[str, Any]]:
    """Typed results as the lookup reads them: JSON objects, dates in ISO form."""
    return [json.loads(json.dumps(asdict(r), default=str)) for r in results]


async def _case(c, login) -> Case:
    n = next(_serials)
    return await Case.create(
        number=f"T{n:010d}",
        service_code="test",
        definition_version=1,
        category="test",
        state="done",
        channel="app",
        applicant_id=login.person.id,
        submitted_by_id=login.account.id,
        delivery_method="none",
        created_at=c.clock.now(),
        updated_at=c.clock.now(),
    )


async def _qualification(c, login, code, status, start, end) -> None:
    now = c.clock.now()
    await ChronicQualification.create(
        serial=f"Q{next(_serials):08d}",
        person_id=login.person.id,
        case=await _case(c, login),
        disease_code=code,
        disease_name=f"病种{code}",
        disease_category="chronic",
        institutions=["第一医院", "第二医院"] if code.endswith("1") else [],
        valid_from=start,
        valid_to=end,
        status=status,
        created_at=now,
        updated_at=now,
    )


async def _filing(c, login, status, start, end) -> None:
    now = c.clock.now()
    await RemoteCareFiling.create(
        serial=f"F{next(_serials):08d}",
        person_id=login.person.id,
        case=await _case(c, login),
        filing_type="long_term_resident",
        type_name="异地长期居住",
        category=FilingCategory.LONG_TERM,
        province_code="310000",
        city_code="310100",
        start_date=start,
        valid_from=start,
        valid_to=end,
        status=status,
        channel="app",
        created_at=now,
        updated_at=now,
    )


async def _voucher(c, login, vid: str) -> None:
    await Voucher.create(
        id=vid,
        person_id=login.person.id,
        holder_id=login.person.id,
        status=VoucherStatus.ACTIVE,
        activated_at=c.clock.now(),
        created_at=c.clock.now(),
    )


async def test_lookup_agrees_with_the_domain_functions(c):
    today = local_today(c.clock)
    year = today.year
    day = timedelta(days=1)
    people = {}
    for name in ("enrolled", "pending", "none", "lapsed"):
        login = await make_citizen(c, name)
        people[name] = login
        await _voucher(c, login, f"V{name}"[:16])

    a = people["enrolled"]
    await Enrollment.create(
        person_id=a.person.id, year=year, status=EnrollmentStatus.ENROLLED, channel="app"
    )
    for code, status, start, end in [
        ("M001", QualificationStatus.ACTIVE, today - 30 * day, today + 30 * day),  # active
        ("M002", QualificationStatus.ACTIVE, today - 30 * day, None),  # long-term
        ("M003", QualificationStatus.EXPIRED, today - 60 * day, today - day),  # expired
        ("M004", QualificationStatus.REVOKED, today - 60 * day, today + 60 * day),  # revoked
        ("M005", QualificationStatus.RENEWED, today - 300 * day, today),  # renewed, ends today
        ("M006", QualificationStatus.ACTIVE, today + day, None),  # the renewal, from tomorrow
        ("M007", QualificationStatus.ACTIVE, today, today),  # one day: today
    ]:
        await _qualification(c, a, code, status, start, end)
    for status, start, end in [
        (FilingStatus.ACTIVE, today - 10 * day, None),
        (FilingStatus.ACTIVE, today - 20 * day, today + 5 * day),
        (FilingStatus.ENDED, today - 90 * day, today - day),  # ended yesterday
        (FilingStatus.ENDED, today - 90 * day, today),  # ends today: still covers
        (FilingStatus.ACTIVE, today + day, None),  # not yet
    ]:
        await _filing(c, a, status, start, end)

    b = people["pending"]
    await Enrollment.create(
        person_id=b.person.id, year=year, status=EnrollmentStatus.PENDING_PAYMENT, channel="app"
    )
    await Enrollment.create(
        person_id=b.person.id, year=year - 1, status=EnrollmentStatus.ENROLLED, channel="app"
    )
    await _qualification(
        c, b, "M011", QualificationStatus.EXPIRED, today - 400 * day, today - 30 * day
    )
    l_ = people["lapsed"]
    await Enrollment.create(
        person_id=l_.person.id, year=year - 1, status=EnrollmentStatus.ENROLLED, channel="app"
    )
    await Enrollment.create(
        person_id=l_.person.id, year=year, status=EnrollmentStatus.NOT_ENROLLED, channel="app"
    )

    names = list(people)
    queries = [FactsQuery(f"V{name}"[:16], year, today) for name in [*names, "nobody"]]
    *batch, nobody = await verification_facts(queries)  # one statement for all of them
    assert nobody is None
    seen_statuses = set()
    for name, facts in zip(names, batch, strict=True):
        login = people[name]
        pid = login.person.id
        assert facts is not None
        assert facts.person_id == facts.holder_id == pid
        assert facts.voucher_status == VoucherStatus.ACTIVE
        assert masked_person_view(c, **facts.person) == person_view(c, login.person)
        assert facts.chronic_qualifications == as_json(await active_qualifications(c, pid)), name
        assert facts.remote_care_filings == as_json(await active_filings(c, pid)), name
        current = EnrollmentStatus(facts.enrollment_status) if facts.enrollment_status else None
        status = status_from(c, year, current, enrolled_year_before=facts.enrolled_year_before)
        assert status == await status_of(c, pid, year), name
        assert (status is EnrollmentStatus.ENROLLED) == await is_enrolled(pid, year), name
        seen_statuses.add(status)

    facts = batch[names.index("enrolled")]
    assert [q["disease_code"] for q in facts.chronic_qualifications] == [
        "M001",
        "M002",
        "M005",
        "M007",
    ]
    assert len(facts.remote_care_filings) == 3
    assert EnrollmentStatus.ENROLLED in seen_statuses
    assert EnrollmentStatus.PENDING_PAYMENT in seen_statuses
    assert (
        EnrollmentStatus.NOT_ENROLLED in seen_statuses or EnrollmentStatus.LAPSED in seen_statuses
    )
    assert await verification_facts([]) == []


async def test_a_revoked_voucher_reads_as_revoked(c):
    login = await make_citizen(c, "revoked")
    await _voucher(c, login, "Vrevoked")
    await Voucher.filter(id="Vrevoked").update(
        status=VoucherStatus.REVOKED, revoked_at=c.clock.now()
    )
    today = local_today(c.clock)
    [facts] = await verification_facts([FactsQuery("Vrevoked", today.year, today)])
    assert facts is not None and facts.voucher_status == VoucherStatus.REVOKED
    assert facts.revoked_at is not None


async def test_one_voucher_twice_in_a_batch_keeps_each_look_around(c):
    """Two uses of one voucher in one batch (two codes, two terminals): each query gets its own
    cross-city finding, read by position, not by voucher."""
    login = await make_citizen(c, "twice")
    await _voucher(c, login, "Vtwice")
    now = c.clock.now()
    earlier = await VoucherUse.create(
        voucher_id="Vtwice",
        person_id=login.person.id,
        nonce="n-earlier",
        terminal_key_id="tk_a",
        institution_code="P1",
        institution_name="康民大药房",
        city_code="330100",
        purpose="02121",
        mode=UseMode.ONLINE,
        used_at=now - timedelta(minutes=5),
        recorded_at=now,
    )
    today = local_today(c.clock)
    window = timedelta(minutes=30)
    same, other, none = await verification_facts(
        [
            FactsQuery("Vtwice", today.year, today, now - window, now + window, "330100"),
            FactsQuery("Vtwice", today.year, today, now - window, now + window, "310100"),
            FactsQuery("Vtwice", today.year, today),  # no look-around asked
        ]
    )
    assert same is not None and same.other_city_use_id is None
    assert other is not None and other.other_city_use_id == earlier.id
    assert none is not None and none.other_city_use_id is None
