"""Supervisor: escalated (overdue) tasks and their reassignment; statistics by service,
station and period with server-side SVG charts."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.cases import catalogue, lists, queues, review
from backend.cases.case_stats import READERS, case_statistics
from backend.identity import staff
from backend.identity.models import Role
from backend.identity.results import StaffAccount
from backend.stations.service import station_tree
from handlers.console.charts import bar_chart
from handlers.console.web import (
    container,
    page,
    page_response,
    parse_form,
    parse_values,
    principal,
)

bp = Blueprint("console_supervisor", url_prefix="/console")


class ReassignForm(BaseModel):
    to_account_id: int = Field(ge=1)


class StatsForm(BaseModel):
    date_from: date | None = None
    date_to: date | None = None
    group_by: Literal["service", "station", "period"] = "service"
    period: Literal["day", "month", "year"] = "month"


@bp.get("/supervisor")
@page(Role.SUPERVISOR)
async def escalations(request: Request) -> HTTPResponse:
    c = container(request)
    result = await queues.escalation_queue(c, lists.Page(1, 100))
    reviewers: dict[str, list[StaffAccount]] = {}
    for item in result.items:
        if item.category not in reviewers:
            reviewers[item.category] = await staff.reviewers_of(item.category)
    return await page_response(request, "supervisor.html", escalated=result, reviewers=reviewers)


@bp.post("/supervisor/tasks/<task_id:int>/reassign")
@page(Role.SUPERVISOR)
async def reassign(request: Request, task_id: int) -> HTTPResponse:
    form: ReassignForm = parse_form(request, ReassignForm)
    await review.reassign(
        container(request), principal(request), task_id, to_account_id=form.to_account_id
    )
    return redirect("/console/supervisor?reassigned=1", status=303)


def _labels(groups: list[dict[str, Any]], names: dict[Any, str]) -> list[str]:
    return [
        names.get(g["key"], str(g["key"] if g["key"] is not None else "掌上办")) for g in groups
    ]


async def _station_names(c: Any) -> dict[Any, str]:
    names: dict[Any, str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            names[n["id"]] = n["name"]
            walk(n.get("children", []))

    walk(await station_tree(c))
    return names


@bp.get("/stats")
@page(*READERS)
async def stats(request: Request) -> HTTPResponse:
    """The statistics of ``GET /admin/case-stats`` (the same function, so the same readers and
    default period), grouped and drawn."""
    c = container(request)
    form: StatsForm = parse_values(StatsForm, {k: v[0] for k, v in request.args.items()})
    result = await case_statistics(c, principal(request), **form.model_dump())
    names: dict[Any, str] = {}
    if form.group_by == "service":
        names = {s["code"]: s["name"] for s in catalogue.list_services(c)}
    elif form.group_by == "station":
        names = await _station_names(c)
    groups = result.get("groups", [])
    labels = _labels(groups, names)

    def series(key: str) -> list[tuple[str, float]]:
        return [(label, g[key] or 0) for label, g in zip(labels, groups, strict=True)]

    charts = [
        bar_chart("办件量", series("cases"), unit="件"),
        bar_chart("掌办率", series("app_share"), percent=True),
        bar_chart("按时办结率", series("on_time_rate"), percent=True),
        bar_chart("平均办理用时", series("avg_handling_hours"), unit="小时"),
        bar_chart("平均评分", series("avg_rating"), unit="分"),
    ]
    return await page_response(
        request,
        "stats.html",
        form=form,
        result=result,
        rows=list(zip(labels, groups, strict=True)),
        charts=charts,
    )
