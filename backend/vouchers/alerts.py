"""Cross-city use alerts: two uses of one voucher at institutions in different cities within
``voucher.cross_city_window_minutes`` (config/policy/voucher.yaml) suggest a copied or stolen
code. The holder gets an inbox message (the case engine's ``InboxMessage``, with no case) and
fund-supervision staff see the alert in their list. One alert per recorded use at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.cases.models import InboxMessage
from backend.clock import CHINA_TZ, local_today
from backend.container import Container
from backend.identity.models import Person
from backend.identity.persons import person_view
from backend.identity.principal import Principal
from backend.vouchers.models import VoucherAlert, VoucherUse


class UseAt(Protocol):
    """Where and when a use happened: a ``VoucherUse`` or a row read without the ORM."""

    @property
    def voucher_id(self) -> str: ...
    @property
    def used_at(self) -> datetime: ...
    @property
    def city_code(self) -> str: ...


class RecordedUse(UseAt, Protocol):
    @property
    def id(self) -> int: ...
    @property
    def person_id(self) -> int: ...
    @property
    def institution_name(self) -> str: ...


ALERT_TITLE = "医保电子凭证异地使用提醒"
MAX_PAGE_SIZE = 100


def _local(moment: Any) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%m月%d日%H:%M")


def _message(use: RecordedUse, other: RecordedUse, window_minutes: int) -> str:
    first, second = sorted((use, other), key=lambda u: u.used_at)
    return (
        f"您的医保电子凭证于{_local(first.used_at)}在{first.institution_name}"
        f"（地区 {first.city_code}）使用，{window_minutes} 分钟内又于{_local(second.used_at)}"
        f"在{second.institution_name}（地区 {second.city_code}）使用。"
        "如非本人或家人使用，请立即挂失电子凭证并联系医保经办机构。"
    )[:300]


# The latest use of voucher x.voucher_id between x.since and x.until in another city than
# x.city_code (a correlated subquery over a row ``x``; ``lookup`` reads it with the facts).
OTHER_CITY_LATEST = (
    "(SELECT o.id FROM voucher_use o WHERE o.voucher_id = x.voucher_id"
    " AND o.used_at >= x.since AND o.used_at <= x.until AND o.city_code <> x.city_code"
    " ORDER BY o.used_at DESC LIMIT 1)"
)
# One row per use, in order.
OTHER_CITY_SQL = (
    f"SELECT {OTHER_CITY_LATEST} AS other_id"
    " FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[])"
    " WITH ORDINALITY AS x(voucher_id, since, until, city_code, n) ORDER BY x.n"
)


async def other_city_use_id(
    voucher_id: str, since: datetime, until: datetime, city_code: str
) -> int | None:
    """``OTHER_CITY_LATEST`` for one use, through the ORM (SQLite)."""
    other = (
        await VoucherUse.filter(voucher_id=voucher_id, used_at__gte=since, used_at__lte=until)
        .exclude(city_code=city_code)
        .order_by("-used_at")
        .first()
    )
    return other.id if other else None


async def other_city_use_ids(
    uses: Sequence[UseAt], window: timedelta, pg: Any = None
) -> list[int | None]:
    """For each use, the latest use of the same voucher in another city within ``window`` of
    it. On PostgreSQL one prepared statement for all (on ``pg`` when given); elsewhere the ORM.
    Run it after the uses are committed, so of two uses racing in two cities at least one sees
    the other."""
    if not uses:
        return []
    conn = VoucherUse._meta.db
    if pg is None and conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as pg:
            return await other_city_use_ids(uses, window, pg)
    if pg is not None:
        rows = await pg.fetch(
            OTHER_CITY_SQL,
            [u.voucher_id for u in uses],
            [u.used_at - window for u in uses],
            [u.used_at + window for u in uses],
            [u.city_code for u in uses],
        )
        return [row["other_id"] for row in rows]
    return [
        await other_city_use_id(u.voucher_id, u.used_at - window, u.used_at + window, u.city_code)
        for u in uses
    ]


def window_minutes(c: Container) -> int:
    return c.policies.voucher.at(local_today(c.clock)).cross_city_window_minutes


async def check_cross_city(c: Container, use: VoucherUse, *, holder_id: int) -> VoucherAlert | None:
    """After recording ``use``: raise an alert if the voucher was used in another city within
    the window around it (before or after: offline uses arrive late). The check runs after the
    use is committed, so of two uses racing in two cities at least one sees the other."""
    minutes = window_minutes(c)
    [other_id] = await other_city_use_ids([use], timedelta(minutes=minutes))
    return await raise_alert(c, use, other_id, holder_id=holder_id, minutes=minutes)


async def raise_alert(
    c: Container, use: RecordedUse, other_id: int | None, *, holder_id: int, minutes: int
) -> VoucherAlert | None:
    """The alert for the recorded ``use`` and the other-city use ``other_id`` (nothing when
    None)."""
    if other_id is None:
        return None
    window_minutes = minutes
    other = await VoucherUse.get(id=other_id)
    if await VoucherAlert.exists(use_id=other.id, other_use_id=use.id):
        return None  # the same pair, already raised from the other side
    try:
        async with in_transaction():
            alert = await VoucherAlert.create(
                voucher_id=use.voucher_id,
                person_id=use.person_id,
                holder_id=holder_id,
                use_id=use.id,
                other_use=other,
                window_minutes=window_minutes,
                created_at=c.clock.now(),
            )
            await InboxMessage.create(
                person_id=holder_id,
                case=None,
                title=ALERT_TITLE,
                body=_message(use, other, window_minutes),
                created_at=c.clock.now(),
            )
            await record(
                c,
                actor=None,
                actor_role="system",
                action="voucher.alert.raise",
                subject_type="voucher",
                subject_id=use.voucher_id,
                data={
                    "alert_id": alert.id,
                    "use_ids": [other.id, use.id],
                    "cities": [other.city_code, use.city_code],
                },
            )
    except IntegrityError:
        return None  # raised concurrently for this use
    return alert


def _use_brief(use: VoucherUse) -> dict[str, Any]:
    return {
        "id": use.id,
        "used_at": use.used_at.isoformat(),
        "institution_code": use.institution_code,
        "institution_name": use.institution_name,
        "city_code": use.city_code,
        "terminal_key_id": use.terminal_key_id,
        "purpose": use.purpose,
        "mode": use.mode.value if hasattr(use.mode, "value") else use.mode,
    }


async def list_alerts(c: Container, principal: Principal, *, page: int, size: int) -> dict:
    """Fund-supervision staff: alerts, newest first. The read is audited (personal data)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    rows = (
        await VoucherAlert.all()
        .order_by("-created_at", "-id")
        .offset((page - 1) * size)
        .limit(size)
        .select_related("use", "other_use", "person")
    )
    total = await VoucherAlert.all().count()
    holders = {p.id: p for p in await Person.filter(id__in={a.holder_id for a in rows})}
    items = []
    for alert in rows:
        uses = sorted((alert.use, alert.other_use), key=lambda u: u.used_at)
        holder = holders[alert.holder_id]
        items.append(
            {
                "id": alert.id,
                "voucher_id": alert.voucher_id,
                "created_at": alert.created_at.isoformat(),
                "window_minutes": alert.window_minutes,
                "person": person_view(c, alert.person),
                "holder": person_view(c, holder),
                "uses": [_use_brief(u) for u in uses],
            }
        )
    await record(
        c,
        actor=principal,
        action="voucher.alert.list",
        subject_type="voucher_alert",
        subject_id="list",
        data={"page": page, "size": size, "alert_ids": [a.id for a in rows]},
    )
    return {"page": page, "size": size, "total": total, "items": items}
