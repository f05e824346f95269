"""The reviewers' work queues: open tasks by category, most urgent first, and the supervisors'
escalations."""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from datetime import datetime

from tortoise.queryset import QuerySet

from backend.cases.access import Actor
from backend.cases.details import case_summary, task_view
from backend.cases.lists import Page
from backend.cases.models import Case, CaseTask, TaskStatus
from backend.cases.results import QueuedTask, ReviewQueue, TaskPage
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.errors import InvalidInput
from backend.identity.models import Role
from backend.identity.principal import Principal


@dataclass(frozen=True)
class QueueFilter:
    category: str | None = None
    service_code: str | None = None
    station_id: int | None = None
    overdue_only: bool = False
    mine: bool = False


MAX_QUEUE_DEPTH = 2000  # page * size: deeper than this, filter instead of paging
TOTAL_CAP = 999


def _category_of(c: Container, service_code: str) -> str | None:
    try:
        return c.definitions.latest(service_code).category
    except KeyError:
        return None


def _scans(c: Container, p: Principal, f: QueueFilter) -> list[QuerySet[CaseTask]] | None:
    """One query per category to scan; None when the filter leaves nothing the caller may
    see."""
    if f.mine:
        return [CaseTask.filter(holder_id=p.account_id, status=TaskStatus.CLAIMED)]
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
        service_cat = _category_of(c, f.service_code)
        if service_cat is None or (allowed is not None and service_cat not in allowed):
            return None
        cats = [None]
    return [
        CaseTask.filter(status=TaskStatus.OPEN, **({"category": cat} if cat else {}))
        for cat in cats
    ]


def _narrowed(c: Container, query: QuerySet[CaseTask], f: QueueFilter) -> QuerySet[CaseTask]:
    if f.service_code:
        query = query.filter(service_code=f.service_code)
    if f.station_id is not None:
        query = query.filter(station_id=f.station_id)
    if f.overdue_only:
        query = query.filter(due_at__lte=c.clock.now())
    return query


async def reviewer_queue(
    c: Container, actor: Actor, f: QueueFilter, page: Page, *, with_total: bool = True
) -> ReviewQueue:
    """Open tasks of the reviewer's categories (or the ones they hold), most urgent first.

    Each category is a range scan of a partial index on open tasks in (due_at, id) order, so
    overdue tasks (due in the past) come first by construction; several categories are merged
    here rather than sorted in the database.
    """
    p = actor.principal
    assert p is not None
    if page.offset + page.size > MAX_QUEUE_DEPTH:
        raise InvalidInput("页码过深，请使用筛选条件缩小范围", code="PAGE_TOO_DEEP")
    scans = _scans(c, p, f)
    if scans is None:
        return ReviewQueue([], page.page, page.size, total=0, total_exact=True)
    filtered = [_narrowed(c, q, f) for q in scans]
    depth = page.offset + page.size
    batches = [await q.order_by("due_at", "id").limit(depth) for q in filtered]
    far = datetime.max.replace(tzinfo=CHINA_TZ)
    merged = heapq.merge(*batches, key=lambda t: (t.due_at or far, t.id))
    rows = list(merged)[page.offset : depth]
    items = await _with_cases(c, rows)
    if not with_total:
        return ReviewQueue(items, page.page, page.size, total=None, total_exact=None)
    # Exact up to TOTAL_CAP ("999+" beyond): counting 30,000 open tasks on every page view
    # costs more than the page itself.
    counts = [len(await q.limit(TOTAL_CAP + 1).values_list("id", flat=True)) for q in filtered]
    total = sum(counts)
    return ReviewQueue(items, page.page, page.size, min(total, TOTAL_CAP), total <= TOTAL_CAP)


async def _with_cases(c: Container, tasks: list[CaseTask]) -> list[QueuedTask]:
    ids = [t.case_id for t in tasks]
    cases = {x.id: x for x in await Case.filter(id__in=ids)} if ids else {}
    return [
        QueuedTask(**asdict(task_view(t)), case=case_summary(c, cases[t.case_id]))
        for t in tasks
        if t.case_id in cases
    ]


async def escalation_queue(c: Container, page: Page) -> TaskPage:
    """Overdue cases escalated to supervisors by the sweeper."""
    query = CaseTask.filter(escalated=True, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    rows = await query.order_by("due_at", "id").offset(page.offset).limit(page.size)
    return TaskPage(await query.count(), await _with_cases(c, rows))
