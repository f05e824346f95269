from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.identity.models import Account, Person
    from backend.stations.models import Station


class Relation(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"
    OTHER = "other"


class ConsentStatus(StrEnum):
    NOT_REQUIRED = "not_required"  # a minor whose guardianship is proven: the guardian acts
    UNPROVEN = "unproven"  # a minor: guardianship not yet proven (registry or station check)
    FROZEN = "frozen"  # a minor: another guardian objected; a station decides
    PENDING = "pending"
    GRANTED = "granted"


class GuardianshipBasis(StrEnum):
    REGISTRY = "registry"  # the population registry names the account holder as guardian
    STATION = "station"  # a clerk checked the 出生医学证明 or 户口簿


class FamilyMember(Model):
    """A person the account holder may act for (亲情账户)."""

    id = fields.BigIntField(primary_key=True)
    owner: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="family_links"
    )
    owner_id: int
    member: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="member_of"
    )
    member_id: int
    relation = fields.CharEnumField(Relation, max_length=12)
    consent_status = fields.CharEnumField(ConsentStatus, max_length=12)
    consent_via = fields.CharField(max_length=12, null=True)  # "member" | "station"
    consented_at = fields.DatetimeField(null=True)
    # The station-recorded form that granted consent, when consent_via == "station"
    consent_authorisation: fields.ForeignKeyNullableRelation[StationAuthorisation] = (
        fields.ForeignKeyField(
            "models.StationAuthorisation",
            related_name="granted_links",
            null=True,
            on_delete=fields.SET_NULL,
        )
    )
    consent_authorisation_id: int | None
    # Guardianship of a minor: how it was proven, and by which clerk and document at a station
    guardianship_basis = fields.CharEnumField(GuardianshipBasis, max_length=10, null=True)
    guardianship_clerk_id = fields.BigIntField(null=True)
    guardianship_station_id = fields.BigIntField(null=True)
    guardianship_document = fields.CharField(max_length=80, default="")
    objected_by_person_id = fields.BigIntField(null=True)  # the other guardian who objected
    objected_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "family_member"
        unique_together = (("owner", "member"),)


class StationAuthorisation(Model):
    """A signed authorisation form recorded by a station clerk (帮办代办授权登记)."""

    id = fields.BigIntField(primary_key=True)
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="authorisations"
    )
    station_id: int
    clerk: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="recorded_authorisations"
    )
    clerk_id: int
    grantor: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="authorisations_given"
    )
    grantor_id: int
    grantee: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="authorisations_held"
    )
    grantee_id: int
    purpose = fields.CharField(max_length=32)  # "family_consent", later "assisted_case"
    form_number = fields.CharField(max_length=64)
    note = fields.CharField(max_length=200, default="")
    # The grantor was there in person: the clerk checked the ID card and scanned the signed form
    id_card_checked = fields.BooleanField(default=False)
    scan_key = fields.CharField(max_length=200, default="")
    scan_type = fields.CharField(max_length=40, default="")
    scan_sha256 = fields.CharField(max_length=64, default="")
    withdrawn_at = fields.DatetimeField(null=True)  # by the grantor, in the app
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_authorisation"
        # One paper form is recorded once per station
        unique_together = (("station", "form_number"),)
