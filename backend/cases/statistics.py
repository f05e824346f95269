"""Case statistics (办件统计): channel share (掌办率), on-time completion, handling time,
overdue cases and ratings, overall or grouped."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Avg, Count
from tortoise.queryset import QuerySet

from backend.cases.models import Case
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.errors import InvalidInput
from workflows.definition import CaseState

DIMENSIONS = {"channel": "channel", "service": "service_code", "station": "station_id"}


def _aggregates(now: datetime) -> dict[str, Any]:
    """Completed means issued (办结出件): a withdrawn, refused, rejected or closed case ended
    without a result and counts in ``ended_without_issue``, never in the completion figures."""
    issued = Q(state=CaseState.ISSUED.value)
    return {
        "total": Count("id"),
        "app": Count("id", _filter=Q(channel="app")),
        "completed": Count("id", _filter=issued),
        "ended": Count("id", _filter=Q(completed_at__not_isnull=True) & ~issued),
        "timed": Count("id", _filter=issued & Q(on_time__not_isnull=True)),
        "on_time_count": Count("id", _filter=issued & Q(on_time=True)),
        "late": Count("id", _filter=issued & Q(on_time=False)),
        "overdue_open": Count(
            "id", _filter=Q(completed_at__isnull=True, due_at__lt=now, sla_paused_at__isnull=True)
        ),
        "avg_handling_s": Avg("handling_seconds", _filter=issued & Q(on_time__not_isnull=True)),
        "avg_limit_s": Avg("limit_seconds", _filter=issued & Q(on_time__not_isnull=True)),
        "rated": Count("rating"),
        "avg_rating": Avg("rating"),
        "satisfied": Count("id", _filter=Q(rating__gte=4)),
    }


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    total, timed, rated = row["total"] or 0, row["timed"] or 0, row["rated"] or 0

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    def hours(seconds: Any) -> float | None:
        return round(float(seconds) / 3600, 2) if seconds is not None else None

    return {
        "cases": total,
        "app_cases": row["app"] or 0,
        "app_share": ratio(row["app"] or 0, total),  # 掌办率
        "completed": row["completed"] or 0,
        "ended_without_issue": row["ended"] or 0,
        "on_time_rate": ratio(row["on_time_count"] or 0, timed),
        "late_completed": row["late"] or 0,
        "overdue_open": row["overdue_open"] or 0,
        "avg_handling_hours": hours(row["avg_handling_s"]),
        "avg_limit_hours": hours(row["avg_limit_s"]),
        "ratings": rated,
        "avg_rating": round(float(row["avg_rating"]), 2) if row["avg_rating"] is not None else None,
        "satisfaction_rate": ratio(row["satisfied"] or 0, rated),  # 好评率
    }


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA_TZ)


def _periods(start: date, end: date, unit: str) -> list[tuple[str, date, date]]:
    out: list[tuple[str, date, date]] = []
    cur = start
    while cur < end:
        if unit == "day":
            nxt, label = cur + timedelta(days=1), cur.isoformat()
        elif unit == "month":
            nxt = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
            label = f"{cur:%Y-%m}"
        else:
            nxt, label = date(cur.year + 1, 1, 1), f"{cur:%Y}"
        out.append((label, cur, min(nxt, end)))
        cur = nxt
    return out


async def statistics(
    c: Container,
    *,
    date_from: date,
    date_to: date,
    group_by: str | None,
    period: str = "month",
    service_code: str | None = None,
    station_id: int | None = None,
) -> dict[str, Any]:
    """Cases submitted in [date_from, date_to] (local dates), overall and grouped."""
    if date_to < date_from:
        raise InvalidInput("结束日期不能早于开始日期", code="DATE_RANGE_INVALID")
    if (date_to - date_from).days > 366 * 3:
        raise InvalidInput("统计区间不能超过三年", code="DATE_RANGE_TOO_LONG")
    now = c.clock.now()
    base = Case.filter(
        submitted_at__gte=_local_midnight(date_from),
        submitted_at__lt=_local_midnight(date_to + timedelta(days=1)),
    )
    if service_code:
        base = base.filter(service_code=service_code)
    if station_id is not None:
        base = base.filter(station_id=station_id)
    aggs = _aggregates(now)
    overall = await base.annotate(**aggs).first().values(*aggs)
    result: dict[str, Any] = {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "overall": _shape(overall or dict.fromkeys(aggs)),
    }
    if group_by in DIMENSIONS:
        result |= await _by_dimension(base, aggs, group_by)
    elif group_by == "period":
        result |= await _by_period(base, aggs, date_from, date_to, period)
    elif group_by is not None:
        raise InvalidInput(
            "分组只能是 channel、service、station 或 period", code="GROUP_BY_INVALID"
        )
    return result


async def _by_dimension(
    base: QuerySet[Case], aggs: dict[str, Any], group_by: str
) -> dict[str, Any]:
    column = DIMENSIONS[group_by]
    rows = await base.annotate(**aggs).group_by(column).values(column, *aggs)
    groups = [{"key": r[column], **_shape(r)} for r in sorted(rows, key=lambda r: str(r[column]))]
    return {"group_by": group_by, "groups": groups}


async def _by_period(
    base: QuerySet[Case], aggs: dict[str, Any], date_from: date, date_to: date, period: str
) -> dict[str, Any]:
    if period not in ("day", "month", "year"):
        raise InvalidInput("统计周期只能是 day、month 或 year", code="PERIOD_INVALID")
    buckets = _periods(date_from, date_to + timedelta(days=1), period)
    if len(buckets) > 400:
        raise InvalidInput("统计周期过多，请缩小区间或改用更长的周期", code="TOO_MANY_PERIODS")
    groups = []
    for label, start, end in buckets:
        row = await (
            base.filter(
                submitted_at__gte=_local_midnight(start), submitted_at__lt=_local_midnight(end)
            )
            .annotate(**aggs)
            .first()
            .values(*aggs)
        )
        groups.append({"key": label, **_shape(row or dict.fromkeys(aggs))})
    return {"group_by": "period", "period": period, "groups": groups}
