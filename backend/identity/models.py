from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from workflows import vocabulary

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.stations.models import Station


class Role(StrEnum):
    """The roles of workflows/vocabulary.py (checked at start-up)."""

    CITIZEN = vocabulary.CITIZEN
    STATION_STAFF = vocabulary.STATION_STAFF
    REVIEWER = vocabulary.REVIEWER
    SUPERVISOR = vocabulary.SUPERVISOR
    FINANCE = vocabulary.FINANCE
    ADMIN = vocabulary.ADMIN


class Person(Model):
    """A natural person known to the bureau: an account holder or a family member."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=50)
    id_number_enc = fields.CharField(max_length=200)
    id_number_idx = fields.CharField(max_length=64, unique=True)
    birth_date = fields.DateField()
    gender = fields.CharField(max_length=1)  # "M" / "F", from the ID number
    region_code = fields.CharField(max_length=6)
    phone_enc = fields.CharField(max_length=200, null=True)
    # Kept current by 参保信息变更 (backend/identity/info_change.py)
    address_enc = fields.CharField(max_length=400, null=True)
    payout_bank_name = fields.CharField(max_length=60, null=True)
    payout_account_enc = fields.CharField(max_length=200, null=True)
    # The station whose clerk first registered the person (staff scope, backend/stations/scope)
    home_station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="registered_persons", null=True, on_delete=fields.RESTRICT
    )
    home_station_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"


class Account(Model):
    """Who logs in: a citizen (mini-program openid) or staff (username and password)."""

    id = fields.BigIntField(primary_key=True)
    role = fields.CharEnumField(Role, max_length=20)
    display_name = fields.CharField(max_length=50, default="")
    openid = fields.CharField(max_length=128, unique=True, null=True)
    username = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=200, null=True)
    # Real-name binding: one ID number per account and one account per ID number.
    person: fields.OneToOneNullableRelation[Person] = fields.OneToOneField(
        "models.Person", related_name="account", null=True, on_delete=fields.RESTRICT
    )
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="staff", null=True, on_delete=fields.RESTRICT
    )
    station_id: int | None
    categories: fields.JSONField[list[Any]] = fields.JSONField(default=list)  # reviewer categories
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class RefreshToken(Model):
    """One refresh token of a login session (a token family). Only its hash is stored."""

    token_hash = fields.CharField(max_length=64, primary_key=True)
    family = fields.CharField(max_length=32, db_index=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="refresh_tokens"
    )
    account_id: int
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"


class VerificationStatus(StrEnum):
    PENDING = "pending"  # the face check may still be running in the mini-program
    PASSED = "passed"  # redeemed: the account was bound
    REFUSED = "refused"  # WeChat did not confirm the face for this ID card


class IdentityVerification(Model):
    """One face verification (人脸核身) started by a citizen for a name and ID number. The
    ``verify_id`` is redeemed server-side once, before it expires."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="identity_verifications"
    )
    account_id: int
    out_seq_no = fields.CharField(max_length=32, unique=True)
    verify_id = fields.CharField(max_length=256, unique=True)
    name = fields.CharField(max_length=50)
    id_number_enc = fields.CharField(max_length=200)
    status = fields.CharEnumField(VerificationStatus, max_length=10)
    verify_ret = fields.IntField(null=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity_verification"


class ProofMethod(StrEnum):
    FACE = "face"  # WeChat face verification in the mini-program
    STATION = "station"  # a clerk checked the ID card in person


class RealNameProof(Model):
    """How an account's real-name binding was proven. ``ended_at`` is set once it no longer
    holds (the person reclaimed their identity from this account)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="real_name_proofs"
    )
    account_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="real_name_proofs"
    )
    person_id: int
    method = fields.CharEnumField(ProofMethod, max_length=10)
    verification: fields.ForeignKeyNullableRelation[IdentityVerification] = fields.ForeignKeyField(
        "models.IdentityVerification", related_name="proofs", null=True
    )
    verification_id: int | None
    clerk: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="witnessed_proofs", null=True, on_delete=fields.RESTRICT
    )
    clerk_id: int | None
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="real_name_proofs", null=True, on_delete=fields.RESTRICT
    )
    station_id: int | None
    created_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    ended_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "real_name_proof"


class IdentityAlert(Model):
    """For supervision staff: an identity was reclaimed from another account (and what was
    frozen because of it)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="identity_alerts"
    )
    person_id: int
    previous_account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="identity_alerts_lost", null=True
    )
    previous_account_id: int | None
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="identity_alerts_won"
    )
    account_id: int
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    acknowledged_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="identity_alerts_acknowledged", null=True
    )
    acknowledged_by_id: int | None
    acknowledged_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity_alert"
