"""What the identity services answer: typed results, serialised by the handlers' response
models (``handlers/responses/identity.py``, ``handlers/responses/stations.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaceSession:
    """A face verification started: the id the mini-program passes to WeChat, and its life."""

    verify_id: str
    expires_in: int  # seconds


@dataclass(frozen=True)
class StationCode:
    """The one-time code a citizen shows at a station's counter to be bound there."""

    code: str
    expires_in: int  # seconds


@dataclass(frozen=True)
class StationBound:
    """An account bound to its person by a clerk who checked the ID card."""

    account_id: int
    person: dict[str, object]  # backend.identity.persons.person_view
    method: str
    station_id: int
    clerk_id: int
    bound_at: str


@dataclass(frozen=True)
class IdentityAlertView:
    """An identity reclaimed from another account, and the payouts that froze."""

    id: int
    kind: str
    person: dict[str, object]  # backend.identity.persons.person_view
    previous_account_id: int | None
    account_id: int
    frozen_claim_ids: list[int]
    created_at: str


@dataclass(frozen=True)
class IdentityAlerts:
    items: list[IdentityAlertView]


@dataclass(frozen=True)
class StaffAccount:
    """A staff account as the admin's list and a reassignment's choice of reviewers show it."""

    id: int
    username: str | None
    display_name: str
    role: str
    station_id: int | None
    categories: list[str]
    is_active: bool
