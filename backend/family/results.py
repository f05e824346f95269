"""What the family services answer: typed results, serialised by the handlers' response models
(``handlers/responses/family.py``) and shown by the station desk's look-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemberView:
    """A family link as its owner (or staff) sees it."""

    id: int
    relation: str
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str | None
    is_minor: bool
    member: dict[str, object]  # backend.identity.persons.person_view


@dataclass(frozen=True)
class ConsentRequest:
    """A link as its member sees it: who asks, and what the member has said."""

    id: int
    relation: str  # as the requester described it
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str | None
    requester: dict[str, object]  # backend.identity.persons.person_view


@dataclass(frozen=True)
class Family:
    items: list[MemberView]
    count: int
    max_members: int


@dataclass(frozen=True)
class ConsentRequests:
    items: list[ConsentRequest]


@dataclass(frozen=True)
class Objection:
    """A guardian's objection to another's link to their minor: the link is frozen."""

    id: int
    consent_status: str


@dataclass(frozen=True)
class GuardianshipChecked:
    """A clerk's decision on a guardianship after checking the document in person."""

    link_id: int
    decision: str
    consent_status: str | None  # None: the link was removed
    station_id: int
    clerk_id: int
    checked_at: str
