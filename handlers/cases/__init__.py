"""Cases: public, citizen, station and front-desk, reviewer, supervisor and admin endpoints.

This module holds what they share: the blueprint ``bp`` ("cases": its name is in the route names
``url_for`` knows), the paging query, the submission body and refusals, the case answer. The
modules of the package add their routes to ``bp`` by concern: ``public`` (catalogue,
verification), ``citizen``, ``desk`` (stations and the front desk), ``review`` (back office);
``handlers.register_blueprints`` imports them. Query and body models whose class names other
handlers use too are defined here: the OpenAPI document names them after their module
(``handlers__cases__PageQuery``), and the generated clients after the document.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request

from backend.cases import access, details, lists, submission
from backend.cases.models import Case
from backend.cases.results import CaseDetail
from handlers.request import container, principal
from handlers.schemas import Id, MaterialIn, ServiceCode, ServiceCodeFilter, Strict, Version

bp = Blueprint("cases")


class SubmitIn(Strict):
    service_code: ServiceCode
    form: dict[str, Any]
    materials: list[MaterialIn] = Field(default_factory=list, max_length=30)
    delivery_method: Literal["app", "station", "mail"] | None = None
    delivery_address: str | None = Field(default=None, max_length=120)

    def to_request(self) -> submission.NewCase:
        return submission.NewCase(
            service_code=self.service_code,
            form=self.form,
            materials=[m.model_dump() for m in self.materials],
            delivery_method=self.delivery_method,
            delivery_address=self.delivery_address,
        )


class VersionIn(Strict):
    version: Version


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10000)
    size: int = Field(default=20, ge=1, le=100)

    def to_page(self) -> lists.Page:
        return lists.Page(self.page, self.size)


class StatsQuery(BaseModel):
    """办件统计的查询参数（均可省略）。"""

    date_from: date | None = Field(
        default=None, description="提交日期起（含，本地日期 YYYY-MM-DD）；默认本年1月1日"
    )
    date_to: date | None = Field(default=None, description="提交日期止（含）；默认今天")
    group_by: Literal["channel", "service", "station", "period"] | None = Field(
        default=None, description="分组：channel 渠道、service 事项、station 服务站、period 周期"
    )
    period: Literal["day", "month", "year"] = Field(
        default="month", description="group_by=period 时的周期：day、month、year"
    )
    service_code: ServiceCodeFilter | None = Field(default=None, description="只统计该事项")
    station_id: Id | None = Field(default=None, description="只统计该服务站的办件")


# What a submission's form and service refuse, from the app or a station.
# What the generic submission refuses once the service code names a real service.
SUBMISSION_REFUSALS = (
    "CHANNEL_NOT_ALLOWED",
    "DELIVERY_ADDRESS_REQUIRED",
    "DELIVERY_INVALID",
    "FORM_INVALID",
    "KEY_MATERIALS_MISSING",
    "MATERIAL_INVALID",
    "MATERIAL_NOT_FOUND",
    "MATERIAL_UNKNOWN",
    "SERVICE_HAS_OWN_ENTRY",
    "SERVICE_UNKNOWN",
)


async def actor(request: Request) -> access.Actor:
    return await access.actor_for(principal(request))


async def answer_case(request: Request, case: Case) -> CaseDetail:
    """The case as the caller sees it now (sent with the status its route documents)."""
    return await details.case_detail(container(request), await actor(request), case.id)
