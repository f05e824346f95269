"""Who may read the case statistics (办件统计), and over which period by default: one rule for
``GET /admin/case-stats`` and the console's statistics page."""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.cases.queries import statistics
from backend.clock import local_today
from backend.container import Container
from backend.errors import Forbidden
from backend.identity.models import Role
from backend.identity.principal import Principal

READERS = (Role.SUPERVISOR, Role.ADMIN)


async def case_statistics(
    c: Container,
    principal: Principal,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    group_by: str | None = None,
    period: str = "month",
    service_code: str | None = None,
    station_id: int | None = None,
) -> dict[str, Any]:
    """Cases submitted in the period (default: 1 January to today), for supervisors and admins."""
    if principal.role not in READERS:
        raise Forbidden("只有科长和系统管理员可以查看办件统计", code="FORBIDDEN")
    today = local_today(c.clock)
    return await statistics(
        c,
        date_from=date_from or date(today.year, 1, 1),
        date_to=date_to or today,
        group_by=group_by,
        period=period,
        service_code=service_code,
        station_id=station_id,
    )
