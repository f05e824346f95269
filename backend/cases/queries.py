"""Read side of cases: views (masked), lists, queues and statistics."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Avg, Count

from backend.cases.models import (
    Case,
    CaseAuthorisation,
    CaseDocument,
    CaseEvent,
    CaseMaterial,
    CaseTask,
    InboxMessage,
    TaskStatus,
)
from backend.cases.service import (
    FRONT_DESK_CATEGORY,
    Actor,
    definition_of,
    definitions,
    inbox_of,
    load_case,
    masked_form,
)
from backend.clock import CHINA_TZ, iso
from backend.container import Container
from backend.errors import InvalidInput, NotFound
from backend.identity.models import Person, Role
from backend.infra.crypto import mask_name
from workflows.definition import OPEN_STATES, STATE_LABELS, CaseState, Definition
from workflows.sla import sla_state


def _iso(moment: datetime | None) -> str | None:
    return iso(moment)


def service_view(defn: Definition) -> dict[str, Any]:
    return {
        "code": defn.code,
        "version": defn.version,
        "name": defn.name,
        "category": defn.category,
        "channels": sorted(defn.channels),
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type.value,
                "required": f.required,
                "when": f.when,
                "choices": list(f.choices),
            }
            for f in defn.fields
        ],
        "materials": [
            {"key": m.key, "name": m.name, "is_key": m.is_key, "when": m.when}
            for m in defn.materials
        ],
        "instant_rule": defn.instant,
        "deliveries": [d.value for d in defn.issuance.deliveries],
        "tolerance": defn.tolerance is not None,
    }


def list_services() -> list[dict[str, Any]]:
    return [service_view(d) for d in definitions().services()]


def case_summary(c: Container, case: Case) -> dict[str, Any]:
    defn = definition_of(case)
    now = c.clock.now()
    open_case = CaseState(case.state) in OPEN_STATES
    return {
        "id": case.id,
        "number": case.number,
        "service_code": case.service_code,
        "service_name": defn.name,
        "definition_version": case.definition_version,
        "state": case.state,
        "state_label": STATE_LABELS[case.state],
        "version": case.version,
        "channel": case.channel,
        "station_id": case.station_id,  # type: ignore[attr-defined]
        "submitted_at": _iso(case.submitted_at),
        "due_at": _iso(case.due_at),
        "sla": (
            sla_state(
                now, due=case.due_at, warn=case.warning_at, paused=case.sla_paused_at is not None
            ).value
            if open_case
            else ("on_time" if case.on_time else "late" if case.on_time is False else None)
        ),
        "completed_at": _iso(case.completed_at),
        "outcome": case.outcome or None,
    }


async def case_detail(c: Container, actor: Actor, case_id: int) -> dict[str, Any]:
    case = await load_case(actor, case_id)
    defn = definition_of(case)
    applicant = await Person.get(id=case.applicant_id)  # type: ignore[attr-defined]
    materials = await CaseMaterial.filter(case_id=case.id).order_by("id")
    auth = await CaseAuthorisation.get_or_none(case_id=case.id)
    doc = await CaseDocument.get_or_none(case_id=case.id)
    tasks = []
    if actor.principal is not None and actor.principal.is_staff():
        tasks = [task_view(t) for t in await CaseTask.filter(case_id=case.id).order_by("id")]
    return {
        **case_summary(c, case),
        "category": case.category,
        "applicant": {"name": mask_name(applicant.name)},
        "assisted": case.channel == "station",
        "agent_name": case.agent_name,
        "form": masked_form(c, defn, case),
        "amount": str(case.amount) if case.amount is not None else None,
        "materials": [
            {"key": m.key, "name": m.name, "is_key": m.is_key, "status": m.status.value}
            for m in materials
        ],
        "open_gaps": case.open_gaps,
        "tolerance_due_at": _iso(case.tolerance_due_at),
        "review_level": case.review_level,
        "required_levels": case.required_levels,
        "reason_code": case.reason_code or None,
        "reason_text": case.reason_text or None,
        "delivery_method": case.delivery_method,
        "authorisation": (
            {
                "method": auth.method.value,
                "status": auth.status.value,
                "form_number": auth.form_number or None,
                "form_ref": auth.form_ref or None,
                "decided_at": _iso(auth.decided_at),
            }
            if auth
            else None
        ),
        "document": document_view(doc) if doc else None,
        "rating": (
            {"score": case.rating, "comment": case.rating_comment, "at": _iso(case.rated_at)}
            if case.rating is not None
            else None
        ),
        "tasks": tasks,
    }


def document_view(doc: CaseDocument) -> dict[str, Any]:
    return {
        "title": doc.title,
        "outcome": doc.outcome,
        "verification_code": doc.verification_code,
        "delivery_method": doc.delivery_method,
        "issued_at": _iso(doc.issued_at),
        "content": doc.content,
    }


async def document_for(actor: Actor, case_id: int) -> CaseDocument:
    case = await load_case(actor, case_id)
    doc = await CaseDocument.get_or_none(case_id=case.id)
    if doc is None:
        raise NotFound("该办件尚未出件", code="DOCUMENT_NOT_ISSUED")
    return doc


async def verify_document(code: str) -> dict[str, Any]:
    """Public verification of a result document: only masked facts."""
    doc = await CaseDocument.get_or_none(verification_code=code.strip().upper())
    if doc is None:
        raise NotFound("验证码无效，未找到对应的办理结果", code="DOCUMENT_NOT_FOUND")
    return {"valid": True, **document_view(doc)}


async def timeline(c: Container, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The citizen-readable steps; staff also see internal steps (claims, reassignments)."""
    case = await load_case(actor, case_id)
    staff = actor.principal is not None and actor.principal.is_staff()
    query = CaseEvent.filter(case_id=case.id)
    if not staff:
        query = query.filter(citizen_text__not_isnull=True)
    out = []
    for e in await query.order_by("id"):
        item: dict[str, Any] = {
            "at": _iso(e.at),
            "action": e.action,
            "from": e.from_state or None,
            "to": e.to_state,
            "text": e.citizen_text,
        }
        if staff:
            item |= {
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "reason_code": e.reason_code or None,
                "reason_text": e.reason_text or None,
            }
        out.append(item)
    return out


@dataclass(frozen=True)
class Page:
    page: int = 1
    size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def my_cases(c: Container, actor: Actor, page: Page) -> dict[str, Any]:
    query = Case.filter(
        Q(applicant_id=actor.person_id) | Q(submitted_by_id=actor.id)
        if actor.person_id
        else Q(submitted_by_id=actor.id)
    )
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(page.offset).limit(page.size)
    return {"total": total, "items": [case_summary(c, r) for r in rows]}


async def station_cases(
    c: Container, actor: Actor, page: Page, state: str | None = None
) -> dict[str, Any]:
    assert actor.principal is not None
    query = Case.filter(station_id=actor.principal.station_id)
    if state:
        query = query.filter(state=state)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(page.offset).limit(page.size)
    return {"total": total, "items": [case_summary(c, r) for r in rows]}


async def acceptance_queue(c: Container, actor: Actor, page: Page) -> dict[str, Any]:
    """Cases waiting for 综合受理: a station's own, or all for a front-desk reviewer."""
    p = actor.principal
    assert p is not None
    query = Case.filter(state=CaseState.SUBMITTED.value)
    if p.role is Role.STATION_STAFF:
        query = query.filter(station_id=p.station_id)
    elif FRONT_DESK_CATEGORY not in p.categories:
        return {"total": 0, "items": []}
    total = await query.count()
    rows = await query.order_by("due_at", "id").offset(page.offset).limit(page.size)
    return {"total": total, "items": [case_summary(c, r) for r in rows]}


def task_view(t: CaseTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "case_id": t.case_id,  # type: ignore[attr-defined]
        "level": t.level,
        "category": t.category,
        "status": t.status.value,
        "service_code": t.service_code,
        "station_id": t.station_id,
        "due_at": _iso(t.due_at),
        "escalated": t.escalated,
        "holder_id": t.holder_id,
        "claimed_at": _iso(t.claimed_at),
    }


@dataclass(frozen=True)
class QueueFilter:
    category: str | None = None
    service_code: str | None = None
    station_id: int | None = None
    overdue_only: bool = False
    mine: bool = False


MAX_QUEUE_DEPTH = 2000  # page * size: deeper than this, filter instead of paging
TOTAL_CAP = 999


async def reviewer_queue(
    c: Container, actor: Actor, f: QueueFilter, page: Page, *, with_total: bool = True
) -> dict[str, Any]:
    """Open tasks of the reviewer's categories (or the ones they hold), most urgent first.

    Each category is a range scan of a partial index on open tasks in (due_at, id) order, so
    overdue tasks (due in the past) come first by construction; several categories are merged
    here rather than sorted in the database.
    """
    p = actor.principal
    assert p is not None
    if page.offset + page.size > MAX_QUEUE_DEPTH:
        raise InvalidInput("页码过深，请使用筛选条件缩小范围", code="PAGE_TOO_DEEP")
    if f.mine:
        queries_ = [CaseTask.filter(holder_id=p.account_id, status=TaskStatus.CLAIMED)]
    else:
        allowed = list(p.categories) if p.role is Role.REVIEWER else None
        if f.category:
            if allowed is not None and f.category not in allowed:
                raise InvalidInput("您没有该类别的审核权限", code="CATEGORY_NOT_ALLOWED")
            cats: list[str | None] = [f.category]
        elif allowed is not None:
            cats = list(allowed)
        else:
            cats = [None]  # a supervisor without a category: every open task
        if f.service_code:
            # A service belongs to one category: filter on the service alone (its own index).
            service_cat = _category_of(f.service_code)
            if service_cat is None or (allowed is not None and service_cat not in allowed):
                return {
                    "items": [],
                    "page": page.page,
                    "size": page.size,
                    "total": 0,
                    "total_exact": True,
                }
            cats = [None]
        queries_ = [
            CaseTask.filter(status=TaskStatus.OPEN, **({"category": cat} if cat else {}))
            for cat in cats
        ]
    filtered = []
    for query in queries_:
        if f.service_code:
            query = query.filter(service_code=f.service_code)
        if f.station_id is not None:
            query = query.filter(station_id=f.station_id)
        if f.overdue_only:
            query = query.filter(due_at__lte=c.clock.now())
        filtered.append(query)
    depth = page.offset + page.size
    batches = [await q.order_by("due_at", "id").limit(depth) for q in filtered]
    far = datetime.max.replace(tzinfo=CHINA_TZ)
    merged = heapq.merge(*batches, key=lambda t: (t.due_at or far, t.id))
    rows = list(merged)[page.offset : depth]
    out: dict[str, Any] = {
        "items": await _with_cases(c, rows),
        "page": page.page,
        "size": page.size,
    }
    if with_total:
        # Exact up to TOTAL_CAP ("999+" beyond): counting 30,000 open tasks on every page view
        # costs more than the page itself.
        counts = [len(await q.limit(TOTAL_CAP + 1).values_list("id", flat=True)) for q in filtered]
        out["total"] = min(sum(counts), TOTAL_CAP)
        out["total_exact"] = sum(counts) <= TOTAL_CAP
    return out


def _category_of(service_code: str) -> str | None:
    try:
        return definitions().latest(service_code).category
    except KeyError:
        return None


async def _with_cases(c: Container, tasks: list[CaseTask]) -> list[dict[str, Any]]:
    ids = [t.case_id for t in tasks]  # type: ignore[attr-defined]
    cases = {x.id: x for x in await Case.filter(id__in=ids)} if ids else {}
    return [
        {**task_view(t), "case": case_summary(c, cases[t.case_id])}  # type: ignore[attr-defined]
        for t in tasks
        if t.case_id in cases  # type: ignore[attr-defined]
    ]


async def escalation_queue(c: Container, page: Page) -> dict[str, Any]:
    """Overdue cases escalated to supervisors by the sweeper."""
    query = CaseTask.filter(escalated=True, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    rows = await query.order_by("due_at", "id").offset(page.offset).limit(page.size)
    return {"total": await query.count(), "items": await _with_cases(c, rows)}


async def inbox(actor: Actor, page: Page) -> dict[str, Any]:
    query = InboxMessage.filter(inbox_of(actor))
    rows = await query.order_by("-id").offset(page.offset).limit(page.size)
    return {
        "total": await query.count(),
        "unread": await query.filter(read_at=None).count(),
        "items": [
            {
                "id": m.id,
                "case_id": m.case_id,  # type: ignore[attr-defined]
                "title": m.title,
                "body": m.body,
                "created_at": _iso(m.created_at),
                "read": m.read_at is not None,
            }
            for m in rows
        ],
    }


async def pending_authorisations(c: Container, actor: Actor) -> list[dict[str, Any]]:
    if actor.person_id is None:
        return []
    cases = await Case.filter(
        applicant_id=actor.person_id, state=CaseState.AWAITING_AUTHORISATION.value
    ).order_by("id")
    return [case_summary(c, x) for x in cases]


# -- statistics -------------------------------------------------------------------------------

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
        column = DIMENSIONS[group_by]
        rows = await base.annotate(**aggs).group_by(column).values(column, *aggs)
        result["group_by"] = group_by
        result["groups"] = [
            {"key": r[column], **_shape(r)} for r in sorted(rows, key=lambda r: str(r[column]))
        ]
    elif group_by == "period":
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
        result["group_by"] = "period"
        result["period"] = period
        result["groups"] = groups
    elif group_by is not None:
        raise InvalidInput(
            "分组只能是 channel、service、station 或 period", code="GROUP_BY_INVALID"
        )
    return result
