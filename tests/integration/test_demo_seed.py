"""``yibao seed-demo``: realistic demo data, loaded twice without duplicating anything."""

from __future__ import annotations

from backend.audit.models import AuditEntry
from backend.audit.sealer import seal_all
from backend.audit.service import verify_chain
from backend.demo import seed_demo
from backend.demo.cast import CITIZENS, DEMO_PASSWORD, STAFF, ZHANG_WEI
from backend.family.models import ConsentStatus, FamilyMember, StationAuthorisation
from backend.family.service import effective_status
from backend.identity.models import Account, Person, Role
from backend.identity.passwords import verify_password
from backend.stations.models import Station, StationLevel
from workflows.vocabulary import CATEGORIES

MODELS = (Station, Account, Person, FamilyMember, StationAuthorisation, AuditEntry)


async def _counts() -> dict[str, int]:
    return {m.__name__: await m.all().count() for m in MODELS}


async def test_seed_twice_creates_nothing_new(c):
    report = await seed_demo(c)
    first = await _counts()
    assert await Station.filter(level=StationLevel.DISTRICT).count() == 1
    assert 2 <= await Station.filter(level=StationLevel.TOWN).count() <= 3
    assert await Station.filter(level=StationLevel.VILLAGE).count() >= 4
    for station in await Station.filter(parent_id__isnull=False).prefetch_related("parent"):
        assert set(station.delegated_items) <= set(station.parent.delegated_items)

    roles = {a.role for a in await Account.all()}
    assert roles == set(Role)
    categories = {
        cat for a in await Account.filter(role=Role.REVIEWER) for cat in a.categories or []
    }
    assert categories == set(CATEGORIES)
    admin = await Account.get(username="admin")
    assert verify_password(admin.password_hash, DEMO_PASSWORD)
    staff_with_station = await Account.filter(role=Role.STATION_STAFF, station_id__isnull=False)
    assert len({a.station_id for a in staff_with_station}) >= 2  # type: ignore[attr-defined]

    statuses = [
        effective_status(c, link, link.member)
        for link in await FamilyMember.all().prefetch_related("member")
    ]
    assert ConsentStatus.NOT_REQUIRED in statuses  # a minor
    assert ConsentStatus.PENDING in statuses  # an adult who has not consented yet
    assert ConsentStatus.GRANTED in statuses  # consent recorded at a station

    for username, *_ in STAFF:
        assert username in report
    for user, _who in CITIZENS:
        assert user in report
    assert DEMO_PASSWORD in report and "/api/v1/dev/login-code" in report
    for person in await Person.all():  # the report shows masked numbers only
        assert person.id_number_enc not in report
    # The walkthrough gives the fictitious ID numbers that station journeys need.
    assert ZHANG_WEI.id_number in report and "演示流程" in report

    again = await seed_demo(c)
    assert await _counts() == first
    assert again == report
    await seal_all(c)
    assert (await verify_chain(c)).ok


async def test_demo_insures_everybody_this_year_and_leaves_a_family_to_pay_next_year(c):
    from backend.demo.cast import ALL_PERSONS, UNPAID_NEXT_YEAR, enrollment_years
    from backend.enrollment.service import is_enrolled
    from backend.identity.persons import find_person

    await seed_demo(c)
    this_year, next_year = enrollment_years(c)
    for who in ALL_PERSONS:
        person = await find_person(c, who.id_number)
        assert person is not None and await is_enrolled(person.id, this_year), who.name
        if next_year is not None:
            assert await is_enrolled(person.id, next_year) is (who not in UNPAID_NEXT_YEAR)
