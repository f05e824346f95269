"""What the station services answer: typed results, serialised by the handlers' response models
(``handlers/responses/stations.py``, ``handlers/responses/family.py``) and shown by the station
desk's pages."""

from __future__ import annotations

from dataclasses import dataclass

from backend.family.results import MemberView


@dataclass(frozen=True)
class AuthorisationView:
    """A signed authorisation form a station recorded, as staff in its scope see it."""

    id: int
    station_id: int
    clerk_id: int
    purpose: str
    form_number: str
    note: str
    created_at: str | None
    grantor: dict[str, object]  # backend.identity.persons.person_view
    grantee: dict[str, object]


@dataclass(frozen=True)
class RecordedAuthorisation(AuthorisationView):
    """A form just recorded, with the family link it granted (a family-consent form)."""

    family_link_id: int | None


@dataclass(frozen=True)
class AuthorisationPage:
    items: list[AuthorisationView]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class CitizenFound:
    """A citizen found by ID number for assisted service, with their family links."""

    person: dict[str, object]  # backend.identity.persons.person_view
    has_account: bool
    family: list[MemberView]


@dataclass(frozen=True)
class GranteeName:
    name: str  # masked


@dataclass(frozen=True)
class SignedForm:
    """A form the caller signed at a station, as the grantor sees it in the app."""

    id: int
    purpose: str
    form_number: str
    station_id: int
    grantee: GranteeName
    created_at: str | None
    withdrawn_at: str | None


@dataclass(frozen=True)
class SignedForms:
    items: list[SignedForm]
