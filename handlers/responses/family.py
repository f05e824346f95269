"""Response models of family members, consents and authorisations."""

from __future__ import annotations

from handlers.responses.base import Out
from handlers.responses.enrollment import PersonOut


class FamilyMemberOut(Out):
    id: int
    relation: str
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str
    is_minor: bool
    member: PersonOut


class GrantConsentOut(Out):
    id: int
    relation: str
    consent_status: str
    consent_via: str | None
    consented_at: str | None
    created_at: str
    requester: PersonOut


class ListConsentsOut(Out):
    items: list[GrantConsentOut]


class ListFamilyOut(Out):
    items: list[FamilyMemberOut]
    count: int
    max_members: int


class GuardianshipObjectionOut(Out):
    id: int
    consent_status: str


class MyAuthorisationGrantee(Out):
    name: str  # masked


class MyAuthorisationOut(Out):
    id: int
    purpose: str
    form_number: str
    station_id: int
    grantee: MyAuthorisationGrantee
    created_at: str | None
    withdrawn_at: str | None


class MyAuthorisationsOut(Out):
    items: list[MyAuthorisationOut]
