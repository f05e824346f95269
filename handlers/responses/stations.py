"""Response models of service stations: look-ups, authorisations, the station tree."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from handlers.responses.base import Out
from handlers.responses.enrollment import PersonOut


class CitizenLookupOut(Out):
    person: PersonOut
    has_account: bool
    family: list[Any]


class GetAuthorisationOut(Out):
    id: int
    station_id: int
    clerk_id: int
    purpose: str
    form_number: str
    note: str
    created_at: str
    grantor: PersonOut
    grantee: PersonOut


class ListAuthorisationsOut(Out):
    items: list[GetAuthorisationOut]
    total: int
    limit: int
    offset: int


class RecordAuthorisationOut(GetAuthorisationOut):
    """The recorded form, with the family link it created (family consent only)."""

    family_link_id: int | None


class StationDelegatedItem(Out):
    code: str
    name: str


class StationOut(Out):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    delegated_items: list[StationDelegatedItem]
    children: list[StationOut] = Field(default_factory=list)  # absent on the leaves


class StationTreeServiceItem(Out):
    code: str
    name: str


class StationTreeOut(Out):
    items: list[StationOut]
    service_items: list[StationTreeServiceItem]


class StationBindingOut(Out):
    account_id: int
    person: PersonOut
    method: str
    station_id: int
    clerk_id: int
    bound_at: str


class GuardianshipCheckOut(Out):
    link_id: int
    decision: str
    consent_status: str | None  # null: the link was removed
    station_id: int
    clerk_id: int
    checked_at: str
