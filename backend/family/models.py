from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Relation(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"
    OTHER = "other"


class ConsentStatus(StrEnum):
    NOT_REQUIRED = "not_required"  # a minor: the guardian acts for them
    PENDING = "pending"
    GRANTED = "granted"


class FamilyMember(Model):
    """A person the account holder may act for (亲情账户)."""

    id = fields.BigIntField(primary_key=True)
    owner = fields.ForeignKeyField("models.Person", related_name="family_links")
    member = fields.ForeignKeyField("models.Person", related_name="member_of")
    relation = fields.CharEnumField(Relation, max_length=12)
    consent_status = fields.CharEnumField(ConsentStatus, max_length=12)
    consent_via = fields.CharField(max_length=12, null=True)  # "member" | "station"
    consented_at = fields.DatetimeField(null=True)
    # The station-recorded form that granted consent, when consent_via == "station"
    consent_authorisation = fields.ForeignKeyField(
        "models.StationAuthorisation",
        related_name="granted_links",
        null=True,
        on_delete=fields.SET_NULL,
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "family_member"
        unique_together = (("owner", "member"),)


class StationAuthorisation(Model):
    """A signed authorisation form recorded by a station clerk (帮办代办授权登记)."""

    id = fields.BigIntField(primary_key=True)
    station = fields.ForeignKeyField("models.Station", related_name="authorisations")
    clerk = fields.ForeignKeyField("models.Account", related_name="recorded_authorisations")
    grantor = fields.ForeignKeyField("models.Person", related_name="authorisations_given")
    grantee = fields.ForeignKeyField("models.Person", related_name="authorisations_held")
    purpose = fields.CharField(max_length=32)  # "family_consent", later "assisted_case"
    form_number = fields.CharField(max_length=64)
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_authorisation"
        # One paper form is recorded once per station
        unique_together = (("station", "form_number"),)
