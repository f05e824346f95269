"""Admin: staff accounts (create, deactivate), stations and their delegated items, terminals
(register, disable), and the audit chain's verification result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from backend.audit.service import verify_chain
from backend.identity import service as identity
from backend.identity import staff
from backend.identity.models import Role
from backend.stations.service import SERVICE_ITEMS, station_tree, update_delegated_items
from backend.terminals.listing import list_terminals
from backend.terminals.service import deactivate_terminal, register_terminal
from handlers.console.web import (
    ROLE_LABELS,
    container,
    page,
    page_response,
    parse_form,
    principal,
)
from workflows.vocabulary import CATEGORIES

bp = Blueprint("console_admin", url_prefix="/console/admin")


class AccountForm(BaseModel):
    username: str = Field(min_length=3, max_length=32)
    display_name: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=10, max_length=128)
    role: Role
    station_id: int | None = None
    categories: list[str] | str = Field(default_factory=list)

    @field_validator("station_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value or None


class ReasonForm(BaseModel):
    reason: str = Field(min_length=4, max_length=200)


class TerminalForm(BaseModel):
    institution_code: str = Field(min_length=1, max_length=32)
    institution_name: str = Field(min_length=1, max_length=100)
    city_code: str = Field(min_length=6, max_length=6)


def _flatten(nodes: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in nodes:
        out.append({**n, "depth": depth})
        out += _flatten(n.get("children", []), depth + 1)
    return out


@bp.get("/accounts")
@page(Role.ADMIN)
async def accounts(request: Request) -> HTTPResponse:
    c = container(request)
    stations = _flatten(await station_tree(c))
    return await page_response(
        request,
        "admin_accounts.html",
        accounts=await staff.list_staff(c, principal(request)),
        stations=stations,
        station_names={s["id"]: s["name"] for s in stations},
        roles=[(r.value, ROLE_LABELS[r]) for r in staff.STAFF_ROLES],
        role_labels={r.value: label for r, label in ROLE_LABELS.items()},
        categories=CATEGORIES,
    )


@bp.post("/accounts")
@page(Role.ADMIN)
async def create_account(request: Request) -> HTTPResponse:
    form: AccountForm = parse_form(request, AccountForm)
    await staff.create_staff(
        container(request),
        principal(request),
        username=form.username,
        display_name=form.display_name,
        password=form.password,
        role=form.role,
        station_id=form.station_id,
        categories=request.form.getlist("categories") if request.form else [],
    )
    return redirect("/console/admin/accounts?created=1", status=303)


@bp.post("/accounts/<account_id:int>/deactivate")
@page(Role.ADMIN)
async def deactivate(request: Request, account_id: int) -> HTTPResponse:
    form: ReasonForm = parse_form(request, ReasonForm)
    await identity.deactivate_account(
        container(request), principal(request), account_id, form.reason
    )
    return redirect("/console/admin/accounts?deactivated=1", status=303)


@bp.get("/stations")
@page(Role.ADMIN)
async def stations(request: Request) -> HTTPResponse:
    c = container(request)
    return await page_response(
        request,
        "admin_stations.html",
        stations=_flatten(await station_tree(c)),
        items=SERVICE_ITEMS,
    )


@bp.post("/stations/<station_id:int>/items")
@page(Role.ADMIN)
async def station_items(request: Request, station_id: int) -> HTTPResponse:
    chosen = request.form.getlist("items") if request.form else []
    reason = (request.form.get("reason") if request.form else "") or ""
    await update_delegated_items(container(request), principal(request), station_id, chosen, reason)
    return redirect("/console/admin/stations?saved=1", status=303)


@bp.get("/terminals")
@page(Role.ADMIN)
async def terminals(request: Request) -> HTTPResponse:
    return await page_response(request, "admin_terminals.html", terminals=await list_terminals())


@bp.post("/terminals")
@page(Role.ADMIN)
async def add_terminal(request: Request) -> HTTPResponse:
    form: TerminalForm = parse_form(request, TerminalForm)
    issued = await register_terminal(
        container(request),
        institution_code=form.institution_code,
        institution_name=form.institution_name,
        city_code=form.city_code,
        actor=principal(request),
    )
    # The secret is shown once, on this response only (never stored in the clear).
    return await page_response(
        request, "admin_terminals.html", terminals=await list_terminals(), issued=issued
    )


@bp.post("/terminals/<key_id:str>/disable")
@page(Role.ADMIN)
async def disable_terminal(request: Request, key_id: str) -> HTTPResponse:
    form: ReasonForm = parse_form(request, ReasonForm)
    await deactivate_terminal(
        container(request), key_id, reason=form.reason, actor=principal(request)
    )
    return redirect("/console/admin/terminals?disabled=1", status=303)


@bp.get("/audit")
@page(Role.ADMIN)
async def audit(request: Request) -> HTTPResponse:
    report = await verify_chain(container(request))
    return await page_response(request, "admin_audit.html", report=report)
