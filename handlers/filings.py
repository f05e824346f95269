"""Remote-care filing (异地就医备案): types, citizen and station filing, change, cancellation,
the filing's effect for reimbursement staff, and the citizen's active benefits."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool
from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from backend.cases import access, details
from backend.cases.models import Case
from backend.filings import results, service
from backend.identity.models import Role
from backend.vouchers.benefits import Benefits, active_benefits
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses.filings import (
    ChangeFilingOut,
    FileAssistedOut,
    FileOut,
    FilingEffectOut,
    FilingOut,
    FilingTypesOut,
    MyBenefitsOut,
    MyFilingsOut,
)
from handlers.schemas import (
    ASSISTED_FORBIDDEN,
    ASSISTED_NOT_FOUND,
    ASSISTED_REFUSALS,
    AssistanceIn,
    Id,
    MaterialIn,
    Strict,
    Version,
)

bp = Blueprint("filings")


class FilingIn(Strict):
    filing_type: str = Field(min_length=1, max_length=32)
    province_code: str = Field(min_length=1, max_length=12)
    city_code: str = Field(min_length=1, max_length=12)
    start_date: date
    destination_hospital: str = Field(default="", max_length=100)
    diagnosis: str = Field(default="", max_length=100)
    use_commitment: StrictBool = False
    contact_phone: str | None = Field(default=None, max_length=11)
    note: str = Field(default="", max_length=200)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=20)
    delivery_method: Literal["app", "station"] | None = None

    def to_request(self) -> service.FilingRequest:
        return service.FilingRequest(
            filing_type=self.filing_type.strip(),
            province_code=self.province_code.strip(),
            city_code=self.city_code.strip(),
            start_date=self.start_date,
            destination_hospital=self.destination_hospital.strip(),
            diagnosis=self.diagnosis.strip(),
            use_commitment=self.use_commitment,
            contact_phone=self.contact_phone,
            note=self.note.strip(),
            materials=[m.model_dump() for m in self.materials],
            delivery_method=self.delivery_method,
        )


class AssistedFilingIn(FilingIn, AssistanceIn):
    pass


class ChangeIn(FilingIn):
    version: Version
    reason: str = Field(min_length=1, max_length=200)


class CancelIn(Strict):
    version: Version
    reason: str = Field(min_length=1, max_length=200)


class EffectQuery(BaseModel):
    person_id: Id
    care_date: date
    region_code: str = Field(min_length=1, max_length=12)


async def _submitted(request: Request, case: Case) -> dict[str, Any]:
    c = container(request)
    actor = await access.actor_for(principal(request))
    return {
        "case": await details.case_detail(c, actor, case.id),
        "filing": await service.recorded_for(c, case),
    }


@bp.get("/remote-care/filing-types")
@openapi.summary("异地就医备案类型及其材料、有效期、承诺制规则")
@responds(FilingTypesOut)
async def filing_types(request: Request) -> dict[str, Any]:
    return {"items": service.filing_types(container(request))}


# What the filing rules refuse, whether the citizen files or a station files for them.
FILING_CONFLICTS = ("FILING_ALREADY_ACTIVE", "FILING_IN_PROGRESS")
FILING_REFUSALS = (
    "COMMITMENT_NOT_ALLOWED",
    "DESTINATION_INVALID",
    "DESTINATION_IS_HOME",
    "DESTINATION_MISMATCH",
    "FILING_TYPE_UNKNOWN",
    "HOSPITAL_REQUIRED",
    "MATERIAL_UNKNOWN",
    "RETROACTIVE_NOT_ALLOWED",
    "START_DATE_TOO_EARLY",
    "START_DATE_TOO_LATE",
)


@bp.post("/me/remote-care-filings")
@openapi.summary("申请异地就医备案（符合规则即受即办）")
@requires(Role.CITIZEN)
@idempotent
@body(FilingIn)
@errors(409, *FILING_CONFLICTS)
@errors(422, *FILING_REFUSALS)
@responds(FileOut, status=201)
async def file(request: Request, body: FilingIn) -> dict[str, Any]:
    case = await service.submit(container(request), principal(request), body.to_request())
    return await _submitted(request, case)


@bp.post("/station/remote-care-filings")
@openapi.summary("服务站代办异地就医备案（须申请人授权）")
@requires(Role.STATION_STAFF)
@idempotent
@body(AssistedFilingIn)
@errors(403, *ASSISTED_FORBIDDEN)
@errors(404, *ASSISTED_NOT_FOUND)
@errors(409, *FILING_CONFLICTS)
@errors(422, *FILING_REFUSALS, *ASSISTED_REFUSALS)
@responds(FileAssistedOut, status=201)
async def file_assisted(request: Request, body: AssistedFilingIn) -> dict[str, Any]:
    case = await service.submit(
        container(request), principal(request), body.to_request(), body.to_assistance()
    )
    return await _submitted(request, case)


@bp.get("/me/remote-care-filings")
@openapi.summary("我的异地就医备案")
@requires(Role.CITIZEN)
@responds(MyFilingsOut)
async def my_filings(request: Request) -> dict[str, Any]:
    return {"items": await service.my_filings(container(request), principal(request))}


@bp.get("/me/remote-care-filings/<filing_id:int>")
@openapi.summary("异地就医备案详情")
@requires(Role.CITIZEN)
@errors(404, "FILING_NOT_FOUND")
@responds(FilingOut)
async def my_filing(request: Request, filing_id: int) -> results.Filing:
    return await service.my_filing(container(request), principal(request), filing_id)


@bp.post("/me/remote-care-filings/<filing_id:int>/change")
@openapi.summary("变更异地就医备案（须填写原因）")
@requires(Role.CITIZEN)
@idempotent
@body(ChangeIn)
@errors(409, "FILING_CHANGE_TOO_EARLY")
@errors(422, "FILING_CATEGORY_MISMATCH")
@responds(ChangeFilingOut, status=201)
async def change_filing(request: Request, filing_id: int, body: ChangeIn) -> dict[str, Any]:
    case = await service.change(
        container(request),
        principal(request),
        filing_id,
        version=body.version,
        reason=body.reason,
        req=body.to_request(),
    )
    return await _submitted(request, case)


@bp.post("/me/remote-care-filings/<filing_id:int>/cancel")
@openapi.summary("取消异地就医备案（须填写原因）")
@requires(Role.CITIZEN)
@idempotent
@body(CancelIn)
@errors(404, "FILING_NOT_FOUND")
@errors(409, "FILING_CHANGED", "FILING_CHANGE_TOO_EARLY", "FILING_NOT_ACTIVE")
@responds(FilingOut)
async def cancel_filing(request: Request, filing_id: int, body: CancelIn) -> results.Filing:
    c = container(request)
    filing = await service.cancel(
        c, principal(request), filing_id, version=body.version, reason=body.reason
    )
    return service.filing_result(c, filing)


@bp.get("/remote-care/effect")
@openapi.summary("查询某次就医适用的备案及报销比例调整（审核人员）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@query(EffectQuery)
@errors(422, "REGION_CODE_INVALID")
@responds(FilingEffectOut)
async def filing_effect(request: Request, query: EffectQuery) -> dict[str, Any]:
    effect = await service.filing_effect(
        container(request), query.person_id, query.care_date, query.region_code
    )
    return {**vars(effect), "ratio_adjustment": str(effect.ratio_adjustment)}


@bp.get("/me/benefits")
@openapi.summary("我的有效门诊慢特病资格和异地就医备案")
@requires(Role.CITIZEN)
@responds(MyBenefitsOut)
async def my_benefits(request: Request) -> Benefits:
    actor = await access.actor_for(principal(request))
    if actor.person_id is None:
        return Benefits()
    return await active_benefits(container(request), actor.person_id)
