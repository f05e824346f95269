"""Staff scope over citizens: which persons a station's clerks may act for or look at.

A clerk acts only for persons who **authorised their station** (a signed authorisation form
recorded there in person, any purpose, not withdrawn) or who are **registered there** (first
registered by a clerk of that station, ``Person.home_station``). Everyone else, and every
record about them (payment orders, receipts, enrollment status, subsidy categories), is a 404
to the clerk, exactly like a missing id. Supervisors and admins see all stations; reviewers
have no person-level access outside their cases.

Payment orders are scoped by where they were made: a clerk sees the orders made at their station.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.errors import Forbidden, NotFound
from backend.family.models import StationAuthorisation
from backend.identity.models import Person, Role
from backend.identity.principal import Principal

ALL_STATIONS = (Role.SUPERVISOR, Role.ADMIN)


def person_not_found() -> NotFound:
    return NotFound("未找到该参保人员", code="PERSON_NOT_FOUND")


def clerk_station(principal: Principal) -> int:
    if principal.station_id is None:
        raise Forbidden("该账号未关联服务站", code="NO_STATION")
    return principal.station_id


async def station_serves(station_id: int, person_ids: Iterable[int]) -> bool:
    """Whether every one of ``person_ids`` authorised ``station_id`` or is registered there."""
    wanted = set(person_ids)
    if not wanted:
        return True
    registered = await Person.filter(id__in=list(wanted), home_station_id=station_id).values_list(
        "id", flat=True
    )
    authorised = await StationAuthorisation.filter(
        station_id=station_id, grantor_id__in=list(wanted), withdrawn_at__isnull=True
    ).values_list("grantor_id", flat=True)
    return wanted <= {*registered, *authorised}


async def check_staff_scope(principal: Principal, person_ids: Iterable[int]) -> None:
    """Staff only: a 404 unless the caller may act for every one of ``person_ids``."""
    if principal.role in ALL_STATIONS:
        return
    if principal.role is not Role.STATION_STAFF:
        raise Forbidden()
    if not await station_serves(clerk_station(principal), person_ids):
        raise person_not_found()
