"""Remote-care filing records.

A filing is recorded when its case is issued (即受即办 or after review): until then the
application is the case. ``active_slot`` holds ``"<person>:<category>"`` while the filing is
active and is unique, so the database itself refuses a second active filing of the same
category for a person, whatever the application code does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.cases.models import Case
    from backend.identity.models import Person


class FilingStatus(StrEnum):
    ACTIVE = "active"  # 有效
    ENDED = "ended"  # 已终止: changed, cancelled or expired (valid_to says until when)


class FilingCategory(StrEnum):
    LONG_TERM = "long_term"  # 异地长期居住人员
    TEMPORARY = "temporary"  # 临时外出就医人员


class RemoteCareFiling(Model):
    """One remote-care filing of a person, from its case."""

    id = fields.BigIntField(primary_key=True)
    serial = fields.CharField(max_length=32, unique=True)  # 备案流水号 (trt_dcla_detl_sn)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="remote_care_filings", on_delete=fields.RESTRICT
    )
    person_id: int
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "models.Case", related_name="remote_care_filing", on_delete=fields.RESTRICT
    )
    case_id: int
    filing_type = fields.CharField(max_length=32)
    type_name = fields.CharField(max_length=30)
    category = fields.CharEnumField(FilingCategory, max_length=10)
    province_code = fields.CharField(max_length=6)
    city_code = fields.CharField(max_length=6)
    destination_hospital = fields.CharField(max_length=100, default="")
    commitment = fields.BooleanField(default=False)  # 承诺制: a commitment letter for the proofs
    retroactive = fields.BooleanField(default=False)  # 补备案: started before the application
    start_date = fields.DateField()
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)  # null: until changed (long-term)
    replaces_id = fields.BigIntField(null=True)  # the filing this one changed
    status = fields.CharEnumField(FilingStatus, max_length=8)
    active_slot = fields.CharField(max_length=40, null=True, unique=True)
    version = fields.IntField(default=1)
    channel = fields.CharField(max_length=10)
    end_reason = fields.CharField(max_length=200, default="")
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "remote_care_filing"
        indexes = (Index(fields=("person_id", "status")), Index(fields=("status", "valid_to")))
