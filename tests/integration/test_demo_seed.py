"""``yibao seed-demo``: realistic demo data, loaded twice without duplicating anything."""

from __future__ import annotations

from backend.audit.models import AuditEntry
from backend.audit.service import verify_chain
from backend.demo import CITIZENS, DEMO_PASSWORD, STAFF, ZHANG_WEI, seed_demo
from backend.family.models import ConsentStatus, FamilyMember, StationAuthorisation
from backend.family.service import effective_status
from backend.identity.models import Account, Person, Role
from backend.identity.passwords import verify_password
from backend.stations.models import Station, StationLevel

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
    assert categories == {
        "insurance_info",
        "enrollment",
        "remote_care",
        "chronic_disease",
        "reimbursement",
    }
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
    assert ZHANG_WEI.id_number not in report

    again = await seed_demo(c)
    assert await _counts() == first
    assert again == report
    assert (await verify_chain(c)).ok
