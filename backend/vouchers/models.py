from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.identity.models import Person


class VoucherStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # lost phone (挂失): codes are refused until re-activation


class UseMode(StrEnum):
    ONLINE = "online"  # verified by the server when scanned
    OFFLINE = "offline"  # verified by the terminal against the JWKS and reported later


class Voucher(Model):
    """An e-voucher (医保电子凭证): ``holder`` shows codes that identify ``person``. The holder
    is the account's own person, or a family member's relative (亲情账户)."""

    # Compact random public id: carried in every code and used in URLs; never the ID number.
    id = fields.CharField(max_length=16, primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="vouchers", on_delete=fields.RESTRICT
    )
    person_id: int
    holder: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="held_vouchers", on_delete=fields.RESTRICT
    )
    holder_id: int
    status = fields.CharEnumField(VoucherStatus, max_length=8)
    version = fields.IntField(default=0)
    activated_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoke_reason = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "voucher"
        unique_together = (("holder", "person"),)


class VoucherUse(Model):
    """One scan of one code at a terminal: online, or reported later by an offline terminal.
    The (voucher, nonce) pair is unique, so a code is recorded once whatever the path."""

    id = fields.BigIntField(primary_key=True)
    voucher: fields.ForeignKeyRelation[Voucher] = fields.ForeignKeyField(
        "models.Voucher", related_name="uses", on_delete=fields.CASCADE
    )
    voucher_id: str
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="voucher_uses", on_delete=fields.CASCADE
    )
    person_id: int
    nonce = fields.CharField(max_length=32)  # the code's jti
    terminal_key_id = fields.CharField(max_length=64)
    institution_code = fields.CharField(max_length=32)
    institution_name = fields.CharField(max_length=100)
    city_code = fields.CharField(max_length=6)
    purpose = fields.CharField(max_length=5)
    mode = fields.CharEnumField(UseMode, max_length=8)
    used_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "voucher_use"
        unique_together = (("voucher", "nonce"),)
        indexes = (Index(fields=("voucher_id", "used_at")),)


class VoucherAlert(Model):
    """Two uses of one voucher in different cities within the configured window: shown to the
    holder (inbox) and to fund-supervision staff."""

    id = fields.BigIntField(primary_key=True)
    voucher: fields.ForeignKeyRelation[Voucher] = fields.ForeignKeyField(
        "models.Voucher", related_name="alerts", on_delete=fields.CASCADE
    )
    voucher_id: str
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="voucher_alerts", on_delete=fields.CASCADE
    )
    person_id: int
    holder: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="held_voucher_alerts", on_delete=fields.CASCADE
    )
    holder_id: int
    # The use whose recording raised the alert (one alert per use at most), and the use in
    # another city it was found next to.
    use: fields.OneToOneRelation[VoucherUse] = fields.OneToOneField(
        "models.VoucherUse", related_name="alert", on_delete=fields.CASCADE
    )
    use_id: int
    other_use: fields.ForeignKeyRelation[VoucherUse] = fields.ForeignKeyField(
        "models.VoucherUse", related_name="alerts_as_other", on_delete=fields.CASCADE
    )
    other_use_id: int
    window_minutes = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "voucher_alert"
        indexes = (Index(fields=("created_at",)),)
