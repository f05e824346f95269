"""Chronic and special-disease qualification (门诊慢特病): the catalogue, applications by
citizens and stations, renewal, expert review per criterion, revocation."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, StrictBool
from sanic import Blueprint, Request
from sanic_ext.extensions.openapi import openapi

from backend.cases import access, details
from backend.cases.models import Case
from backend.cases.results import CaseDetail
from backend.chronic import records, results, review, service
from backend.identity.models import Role
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, requires
from handlers.responses.cases import CaseOut
from handlers.responses.chronic import (
    ApplyAssistedOut,
    ApplyOut,
    DiseasesOut,
    MyQualificationsOut,
    QualificationOut,
    RenewOut,
    TaskCriteriaOut,
)
from handlers.schemas import (
    ASSISTED_FORBIDDEN,
    ASSISTED_NOT_FOUND,
    ASSISTED_REFUSALS,
    AssistanceIn,
    JsonInt,
    MaterialIn,
    Strict,
    Version,
)

bp = Blueprint("chronic")


class ApplicationIn(Strict):
    disease_code: str = Field(min_length=1, max_length=10)
    diagnosis_date: date
    diagnosis_hospital: str = Field(min_length=2, max_length=100)
    diagnosis_hospital_level: JsonInt = Field(ge=1, le=3)
    designated_institutions: list[str] = Field(min_length=1, max_length=5)
    note: str = Field(default="", max_length=200)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=20)
    delivery_method: Literal["app", "station"] | None = None

    def to_request(self) -> service.ChronicRequest:
        return service.ChronicRequest(
            disease_code=self.disease_code.strip().upper(),
            diagnosis_date=self.diagnosis_date,
            diagnosis_hospital=self.diagnosis_hospital.strip(),
            diagnosis_hospital_level=self.diagnosis_hospital_level,
            designated_institutions=self.designated_institutions,
            note=self.note.strip(),
            materials=[m.model_dump() for m in self.materials],
            delivery_method=self.delivery_method,
        )


class AssistedApplicationIn(ApplicationIn, AssistanceIn):
    pass


class RenewIn(ApplicationIn):
    version: Version


class VerdictIn(Strict):
    criterion: str = Field(min_length=1, max_length=8)
    met: StrictBool
    note: str = Field(default="", max_length=300)


class AssessmentIn(Strict):
    case_version: Version
    verdicts: list[VerdictIn] = Field(min_length=1, max_length=20)
    reason_code: str | None = Field(default=None, max_length=8)
    reason_text: str = Field(default="", max_length=500)


class RevokeIn(Strict):
    version: Version
    reason_code: str = Field(min_length=1, max_length=8)
    reason_text: str = Field(default="", max_length=300)


async def _submitted(request: Request, case: Case) -> dict[str, Any]:
    c = container(request)
    actor = await access.actor_for(principal(request))
    return {
        "case": await details.case_detail(c, actor, case.id),
        "qualification": await service.recorded_for(c, case),
    }


@bp.get("/chronic/diseases")
@openapi.summary("门诊慢特病病种目录（材料、认定标准、快速通道、有效期）")
@responds(DiseasesOut)
async def diseases(request: Request) -> dict[str, Any]:
    return {"items": service.catalogue(container(request))}


# What the qualification rules refuse, whether the citizen applies or a station does.
APPLICATION_CONFLICTS = ("APPLICATION_IN_PROGRESS", "QUALIFICATION_ACTIVE")
APPLICATION_REFUSALS = (
    "DIAGNOSIS_DATE_INVALID",
    "DISEASE_UNKNOWN",
    "INSTITUTIONS_INVALID",
    "MATERIAL_UNKNOWN",
)


@bp.post("/me/chronic-applications")
@openapi.summary("申请门诊慢特病资格认定")
@requires(Role.CITIZEN)
@idempotent
@body(ApplicationIn)
@errors(409, *APPLICATION_CONFLICTS)
@errors(422, *APPLICATION_REFUSALS)
@responds(ApplyOut, status=201)
async def apply(request: Request, body: ApplicationIn) -> dict[str, Any]:
    case = await service.submit(container(request), principal(request), body.to_request())
    return await _submitted(request, case)


@bp.post("/station/chronic-applications")
@openapi.summary("服务站代办门诊慢特病资格认定（须申请人授权）")
@requires(Role.STATION_STAFF)
@idempotent
@body(AssistedApplicationIn)
@errors(403, *ASSISTED_FORBIDDEN)
@errors(404, *ASSISTED_NOT_FOUND)
@errors(409, *APPLICATION_CONFLICTS)
@errors(422, *APPLICATION_REFUSALS, *ASSISTED_REFUSALS)
@responds(ApplyAssistedOut, status=201)
async def apply_assisted(request: Request, body: AssistedApplicationIn) -> dict[str, Any]:
    case = await service.submit(
        container(request), principal(request), body.to_request(), body.to_assistance()
    )
    return await _submitted(request, case)


@bp.get("/me/chronic-qualifications")
@openapi.summary("我的门诊慢特病资格")
@requires(Role.CITIZEN)
@responds(MyQualificationsOut)
async def my_qualifications(request: Request) -> dict[str, Any]:
    return {"items": await service.my_qualifications(container(request), principal(request))}


@bp.get("/me/chronic-qualifications/<qid:int>")
@openapi.summary("门诊慢特病资格详情")
@requires(Role.CITIZEN)
@errors(404, "QUALIFICATION_NOT_FOUND")
@responds(QualificationOut)
async def my_qualification(request: Request, qid: int) -> results.Qualification:
    return await service.my_qualification(container(request), principal(request), qid)


@bp.post("/me/chronic-qualifications/<qid:int>/renew")
@openapi.summary("到期前申请续期")
@requires(Role.CITIZEN)
@idempotent
@body(RenewIn)
@errors(404, "QUALIFICATION_NOT_FOUND")
@errors(409, "RENEWAL_NOT_OPEN")
@responds(RenewOut, status=201)
async def renew(request: Request, qid: int, body: RenewIn) -> dict[str, Any]:
    case = await service.renew(
        container(request), principal(request), qid, version=body.version, req=body.to_request()
    )
    return await _submitted(request, case)


@bp.get("/chronic/review/tasks/<task_id:int>/criteria")
@openapi.summary("专家评审：该任务病种的认定标准及已记录的意见")
@requires(Role.REVIEWER)
@responds(TaskCriteriaOut)
async def task_criteria(request: Request, task_id: int) -> results.ReviewCriteria:
    return await review.criteria_for_task(container(request), principal(request), task_id)


@bp.post("/chronic/review/tasks/<task_id:int>/assessment")
@openapi.summary("专家评审：逐项记录意见并作出认定（全部符合即通过，否则不予认定）")
@requires(Role.REVIEWER)
@idempotent
@body(AssessmentIn)
@errors(404, "TASK_NOT_FOUND")
@errors(409, "QUALIFICATION_REVOKED", "TASK_NOT_HELD")
@errors(422, "CRITERIA_INCOMPLETE", "CRITERION_UNKNOWN")
@responds(CaseOut)
async def assess(request: Request, task_id: int, body: AssessmentIn) -> CaseDetail:
    c = container(request)
    case = await review.assess(
        c,
        principal(request),
        task_id,
        case_version=body.case_version,
        verdicts=[review.Verdict(v.criterion, v.met, v.note) for v in body.verdicts],
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    actor = await access.actor_for(principal(request))
    return await details.case_detail(c, actor, case.id)


@bp.post("/chronic/qualifications/<qid:int>/revoke")
@openapi.summary("取消门诊慢特病资格（慢特病审核人员或科室负责人）")
@requires(Role.REVIEWER, Role.SUPERVISOR)
@idempotent
@body(RevokeIn)
@errors(403, "NOT_CHRONIC_REVIEWER")
@errors(409, "QUALIFICATION_NOT_ACTIVE")
@errors(422, "REASON_UNKNOWN")
@responds(QualificationOut)
async def revoke(request: Request, qid: int, body: RevokeIn) -> results.Qualification:
    c = container(request)
    q = await records.revoke(
        c,
        principal(request),
        qid,
        version=body.version,
        reason_code=body.reason_code,
        reason_text=body.reason_text,
    )
    return service.qualification_result(c, q)
