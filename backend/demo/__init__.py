"""Demo data for ``yibao seed-demo`` (and ``make run``): a district with its towns/streets and
villages/communities and their service stations, staff of every role, and citizens with
families, including a minor and an adult whose consent is still pending.

Idempotent: everything is looked up by its natural key (station code, username, simulator
user, ID number, family link, form number) and only created when missing, so a second run
creates nothing and prints the same logins. Family links and the station-recorded consent go
through the real services, so they are validated and audited like any other.

The cast is ``backend.demo.cast`` (all names and ID numbers fictitious), the printed list of
logins ``backend.demo.report``.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from backend.audit import service as audit
from backend.container import Container
from backend.demo.cast import (
    ALL_PERSONS,
    CITIZENS,
    CONSENT_FORMS,
    DEMO_PASSWORD,
    DEMO_TERMINAL,
    FAMILY,
    STAFF,
    STATIONS,
    UNPAID_NEXT_YEAR,
    DemoPerson,
    enrollment_years,
)
from backend.demo.report import report
from backend.enrollment import service as enrollment
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.family import service as family
from backend.family.models import FamilyMember, Relation, StationAuthorisation
from backend.identity.idp import LocalIdentityProvider
from backend.identity.models import Account, Role
from backend.identity.passwords import hash_password
from backend.identity.persons import find_or_create_person, find_person
from backend.identity.principal import Principal
from backend.identity.registry import LocalPopulationRegistry
from backend.stations import assisted
from backend.stations.models import Station
from backend.stations.service import create_station
from backend.terminals.models import Terminal
from backend.terminals.service import SECRET_FIELD, register_terminal


def _principal(account: Account) -> Principal:
    return Principal(
        account_id=account.id,
        role=account.role,
        session="demo-seed",
        station_id=account.station_id,
        categories=tuple(account.categories or ()),
    )


async def _stations(c: Container) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for code, name, level, parent_code, items in STATIONS:
        station = await Station.get_or_none(code=code)
        if station is None:
            parent = stations[parent_code] if parent_code else None
            station = await create_station(
                c, code=code, name=name, level=level, parent=parent, items=items
            )
        stations[code] = station
    return stations


async def _staff(stations: dict[str, Station]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for username, display, role, station_code, categories in STAFF:
        account = await Account.get_or_none(username=username)
        if account is None:
            account = await Account.create(
                role=role,
                username=username,
                display_name=display,
                password_hash=hash_password(DEMO_PASSWORD),
                station=stations[station_code] if station_code else None,
                categories=categories,
            )
        accounts[username] = account
    return accounts


async def _citizens(c: Container) -> dict[str, Account]:
    idp = LocalIdentityProvider()
    accounts: dict[str, Account] = {}
    for user, who in CITIZENS:
        openid = idp.openid_for(user)
        account = await Account.get_or_none(openid=openid)
        if account is None:
            person = await find_or_create_person(c, who.name, who.id_number)
            account = await Account.create(
                role=Role.CITIZEN, openid=openid, display_name=who.name, person=person
            )
        accounts[user] = account
    return accounts


def _households(c: Container) -> None:
    """The demo children's households in the local population registry: their parents are
    their guardians on record, so adding them as children is proven (guardianship)."""
    registry = c.population_registry
    if not isinstance(registry, LocalPopulationRegistry):
        return
    parents = dict(CITIZENS)
    for user, member, relation in FAMILY:
        if relation is Relation.CHILD:
            registry.record(member.id_number, [parents[user].id_number])


async def _families(c: Container, citizens: dict[str, Account]) -> None:
    for user, member, relation in FAMILY:
        holder = citizens[user]
        known = await find_person(c, member.id_number)
        if known is not None and await FamilyMember.exists(
            owner_id=holder.person_id,  # type: ignore[attr-defined]
            member_id=known.id,
        ):
            continue
        await family.add_member(
            c,
            _principal(holder),
            relation=relation,
            name=member.name,
            id_number=member.id_number,
        )


def _scanned_form(form_number: str) -> bytes:
    """A stand-in for the scan of a signed paper form: a page with ruled lines."""
    page = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(page)
    for y in range(120, 1000, 60):
        draw.line((80, y, 720, y), fill=160, width=2)
    draw.text((80, 60), f"SQ {form_number}", fill=0)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


async def _consent_forms(c: Container, staff: dict[str, Account]) -> None:
    for clerk_name, form_number, grantor, grantee in CONSENT_FORMS:
        clerk = staff[clerk_name]
        if await StationAuthorisation.exists(
            station_id=clerk.station_id,
            form_number=form_number,
        ):
            continue
        await assisted.record_authorisation(
            c,
            _principal(clerk),
            grantor_name=grantor.name,
            grantor_id_number=grantor.id_number,
            grantee_name=grantee.name,
            grantee_id_number=grantee.id_number,
            purpose=assisted.AuthorisationPurpose.FAMILY_CONSENT,
            form_number=form_number,
            grantor_id_card_checked=True,
            signed_form=_scanned_form(form_number),
            note="演示数据：本人到服务点签署同意书",
        )


async def _terminal(c: Container) -> tuple[str, str]:
    """The demo pharmacy terminal: (key id, secret). A demo may show its secret; a real
    terminal's is shown once, by `yibao terminal add`."""
    code, name, city = DEMO_TERMINAL
    row = await Terminal.get_or_none(institution_code=code)
    if row is None:
        issued = await register_terminal(
            c, institution_code=code, institution_name=name, city_code=city
        )
        return issued.identity.key_id, issued.secret
    return row.key_id, c.pii.decrypt(row.secret_enc, SECRET_FIELD)


async def _enrol(c: Container, who: DemoPerson, year: int) -> None:
    """Record a premium paid in cash at a station (the demo's history), once."""
    person = await find_person(c, who.id_number)
    if person is None or await enrollment.is_enrolled(person.id, year):
        return
    quote = await enrollment.quote(c, person, year)
    now = c.clock.now()
    (row,) = await enrollment.ensure_rows([person.id], year)
    await Enrollment.filter(id=row.id).update(
        status=EnrollmentStatus.ENROLLED,
        contribution_fen=quote.contribution_fen,
        subsidy_category=quote.category,
        subsidy_fen=quote.subsidy_fen,
        due_fen=quote.due_fen,
        channel="station",
        enrolled_at=now,
        updated_at=now,
        version=row.version + 1,
    )
    await audit.record(
        c,
        actor=None,
        actor_role="system",
        action="enrollment.enroll.demo",
        subject_type="person",
        subject_id=person.id,
        data={"year": year},
    )


async def _enrollments(c: Container) -> None:
    this_year, next_year = enrollment_years(c)
    for who in ALL_PERSONS:
        await _enrol(c, who, this_year)
        if next_year is not None and who not in UNPAID_NEXT_YEAR:
            await _enrol(c, who, next_year)


class DemoRefusedInProduction(Exception):
    """The demo creates staff with a published password: never in production."""


async def seed_demo(c: Container) -> str:
    """Load the demo data when missing; return the printable list of demo logins.
    Refused in production, before anything is written."""
    if c.settings.production:
        raise DemoRefusedInProduction("生产环境不能加载演示数据（演示账户的密码是公开的）")
    stations = await _stations(c)
    staff = await _staff(stations)
    citizens = await _citizens(c)
    _households(c)
    await _families(c, citizens)
    await _consent_forms(c, staff)
    await _enrollments(c)
    terminal = await _terminal(c)
    return await report(c, stations, citizens, terminal)
