from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class StationLevel(StrEnum):
    DISTRICT = "district"  # 区县医保服务中心
    TOWN = "town"  # 乡镇（街道）服务站
    VILLAGE = "village"  # 村（社区）服务点


class Station(Model):
    """A service station in the district → town/street → village/community hierarchy."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    level = fields.CharEnumField(StationLevel, max_length=10)
    parent: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    # Service item codes delegated to this station (下沉事项清单)
    delegated_items: fields.JSONField[list[Any]] = fields.JSONField(default=list)

    class Meta:
        table = "station"
