"""Service stations: the district → town/street → village/community hierarchy and the service
items delegated to each level (下沉事项清单).

Rule: a station can only handle what its parent handles, so a child's delegated items are
always a subset of its parent's. An update that would break this, in either direction, is
refused: adding an item the parent does not handle (422), or removing from a parent an item a
child still handles (409; withdraw it from the children first). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.container import Container
from backend.errors import Conflict, InvalidInput, NotFound
from backend.identity.principal import Principal
from backend.stations.models import Station, StationLevel
from workflows.vocabulary import SERVICES

# The service items a station can be delegated (code → name shown to staff and citizens).
SERVICE_ITEMS = SERVICES

# Which level may sit under which: a district has no parent.
_PARENT_LEVEL: dict[StationLevel, StationLevel | None] = {
    StationLevel.DISTRICT: None,
    StationLevel.TOWN: StationLevel.DISTRICT,
    StationLevel.VILLAGE: StationLevel.TOWN,
}


def station_accepts(station: Station, item_code: str) -> bool:
    """Whether ``station`` may accept requests for the service item ``item_code``."""
    return item_code in (station.delegated_items or [])


def normalise_items(items: Iterable[str]) -> list[str]:
    """Known codes only, without duplicates, in catalogue order; unknown codes are a 422."""
    wanted = list(items)
    unknown = sorted({i for i in wanted if i not in SERVICE_ITEMS})
    if unknown:
        raise InvalidInput(
            "包含未知的服务事项",
            code="SERVICE_ITEM_UNKNOWN",
            unknown=unknown,
            known=list(SERVICE_ITEMS),
        )
    chosen = set(wanted)
    return [code for code in SERVICE_ITEMS if code in chosen]


def _check_within_parent(items: list[str], parent: Station | None) -> None:
    if parent is None:
        return
    beyond = [i for i in items if i not in (parent.delegated_items or [])]
    if beyond:
        raise InvalidInput(
            "下级服务站的事项须在上级已下放的事项范围内",
            code="ITEMS_NOT_DELEGATED_BY_PARENT",
            items=beyond,
            parent_id=parent.id,
        )


def item_views(items: Iterable[str]) -> list[dict[str, str]]:
    return [{"code": code, "name": SERVICE_ITEMS.get(code, code)} for code in items]


def station_view(station: Station) -> dict[str, Any]:
    return {
        "id": station.id,
        "code": station.code,
        "name": station.name,
        "level": station.level.value,
        "parent_id": station.parent_id,
        "delegated_items": item_views(station.delegated_items or []),
    }


async def create_station(
    c: Container,
    *,
    code: str,
    name: str,
    level: StationLevel,
    parent: Station | None,
    items: Iterable[str],
) -> Station:
    """Add a station under ``parent`` (the demo data and tests use this)."""
    expected = _PARENT_LEVEL[level]
    if (parent is None) != (expected is None) or (parent and parent.level is not expected):
        raise InvalidInput("服务站层级不正确", code="STATION_LEVEL_INVALID")
    chosen = normalise_items(items)
    _check_within_parent(chosen, parent)
    if await Station.exists(code=code):
        raise Conflict("服务站编码已存在", code="STATION_CODE_TAKEN")
    return await Station.create(
        code=code, name=name, level=level, parent=parent, delegated_items=chosen
    )


async def get_station(c: Container, station_id: int) -> Station:
    station = await Station.get_or_none(id=station_id)
    if station is None:
        raise NotFound("未找到该服务站", code="STATION_NOT_FOUND")
    return station


async def station_detail(c: Container, station_id: int) -> dict[str, Any]:
    station = await get_station(c, station_id)
    view = station_view(station)
    children = await Station.filter(parent_id=station.id).order_by("code")
    view["children"] = [station_view(child) for child in children]
    return view


async def station_tree(c: Container) -> list[dict[str, Any]]:
    """Every station, nested under its parent; siblings ordered by code."""
    stations = await Station.all().order_by("code")
    nodes = {s.id: {**station_view(s), "children": []} for s in stations}
    roots: list[dict[str, Any]] = []
    for s in stations:
        parent_id = s.parent_id
        (nodes[parent_id]["children"] if parent_id in nodes else roots).append(nodes[s.id])
    return roots


async def update_delegated_items(
    c: Container, actor: Principal, station_id: int, items: Iterable[str], reason: str = ""
) -> Station:
    """Replace a station's delegated items (admins), keeping the subset rule both ways."""
    chosen = normalise_items(items)
    async with in_transaction():
        # Lock the parent, then the station (always top-down, so no deadlock): an edit of a
        # station and an edit of its parent both hold the parent's row, so they take turns and
        # each sees the other's committed list.
        found = await Station.get_or_none(id=station_id)
        if found is None:
            raise NotFound("未找到该服务站", code="STATION_NOT_FOUND")
        parent_id = found.parent_id
        parent = await Station.select_for_update().get(id=parent_id) if parent_id else None
        station = await Station.select_for_update().get(id=station_id)
        _check_within_parent(chosen, parent)
        still_used: dict[str, list[int]] = {}
        for child in await Station.filter(parent_id=station.id).order_by("id"):
            for item in child.delegated_items or []:
                if item not in chosen:
                    still_used.setdefault(item, []).append(child.id)
        if still_used:
            raise Conflict(
                "下级服务站仍在办理拟撤回的事项，请先调整下级服务站",
                code="ITEMS_STILL_DELEGATED_TO_CHILDREN",
                items=sorted(still_used),
                child_ids=sorted({i for ids in still_used.values() for i in ids}),
            )
        before = list(station.delegated_items or [])
        if before == chosen:
            return station
        station.delegated_items = chosen
        await station.save(update_fields=["delegated_items"])
        await record(
            c,
            actor=actor,
            action="station.items.update",
            subject_type="station",
            subject_id=station.id,
            reason=reason,
            data={"before": before, "after": chosen},
        )
    return station
