"""Response models of chronic-disease qualifications."""

from __future__ import annotations

from datetime import date

from handlers.responses.base import Out
from handlers.responses.cases import CaseOut


class QualificationOut(Out):
    id: int
    serial: str
    case_id: int
    disease_code: str
    disease_name: str
    category: str
    category_name: str
    fast_track: bool
    institutions: list[str]
    valid_from: date
    valid_to: date | None
    status: str
    status_name: str
    renewal_opens_on: date | None
    end_reason: str | None
    version: int


class ApplyOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class ApplyAssistedOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class DiseasesItemCriteria(Out):
    code: str
    text: str


class DiseasesItem(Out):
    code: str
    name: str
    category: str
    category_name: str
    evidence: list[str]
    criteria: list[DiseasesItemCriteria]
    fast_track: bool
    validity_years: int | None
    institutions: int


class DiseasesOut(Out):
    items: list[DiseasesItem]


class MyQualificationsOut(Out):
    items: list[QualificationOut]


class RenewOut(Out):
    case: CaseOut
    qualification: QualificationOut | None


class TaskCriteriaCriteria(Out):
    code: str
    text: str


class TaskCriteriaVerdict(Out):
    level: int
    criterion: str
    met: bool
    note: str | None


class TaskCriteriaOut(Out):
    task_id: int
    case_id: int
    disease_code: str
    disease_name: str
    criteria: list[TaskCriteriaCriteria]
    verdicts: list[TaskCriteriaVerdict]
