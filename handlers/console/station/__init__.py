"""Station desk (帮办代办): the station's cases and their deadlines, the audited citizen
look-up, and an assisted request of every item delegated to the station, with the citizen's
authorisation (confirmation in the app, or an uploaded signed form) and uploaded materials:
remote-care filings, chronic-disease applications and reimbursement claims through their
domains' functions, person registration (参保登记) through enrollment's, the other services
through the case engine's generic assisted request — each the function its API route calls.

One blueprint, ``bp`` ("console_station"), and what its pages share; the modules of the package
add the pages by concern: ``desk`` (cases, look-up, remote-care filings, the generic request),
``chronic``, ``claims`` and ``enrollment``. ``handlers.console.blueprints`` imports them.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request

from backend.errors import NotFound
from backend.stations.desk import store_upload
from backend.stations.service import get_station
from handlers.console.web import container, form_values, principal

bp = Blueprint("console_station", url_prefix="/console/station")


def upload(request: Request, name: str) -> bytes | None:
    part = request.files.get(name) if request.files else None
    return part.body if part is not None and part.body else None


async def signed_form(request: Request, values: dict[str, Any]) -> dict[str, str]:
    """The uploaded signed authorisation form, stored and referenced (for a signed form)."""
    signed = upload(request, "authorisation_form")
    if values.get("authorisation_method") != "signed_form" or signed is None:
        return {}
    ref = await store_upload(
        container(request), principal(request), signed, "form", applicant_of(values)
    )
    return {"authorisation_form_ref": ref}


def applicant_of(values: dict[str, Any]) -> str:
    return str(values.get("applicant_id_number", "")).strip().upper()


async def delegated(request: Request) -> list[str]:
    station = await get_station(container(request), principal(request).station_id)  # type: ignore[arg-type]
    return list(station.delegated_items or [])


async def require_item(request: Request, item: str) -> None:
    if item not in await delegated(request):
        raise NotFound("本服务站不能代办该事项", code="ITEM_NOT_DELEGATED")


async def uploaded_materials(
    request: Request, materials: list[dict[str, Any]], applicant: str
) -> list[dict[str, str]]:
    """One upload per material of the definition (``material_<key>``), stored as the
    applicant's case materials."""
    out = []
    for m in materials:
        data = upload(request, f"material_{m['key']}")
        if data is not None:
            ref = await store_upload(
                container(request), principal(request), data, m["key"], applicant
            )
            out.append({"key": m["key"], "file_ref": ref})
    return out


def desk_values(request: Request) -> dict[str, Any]:
    return {k: v for k, v in form_values(request).items() if v != "" and k != "csrf_token"}
