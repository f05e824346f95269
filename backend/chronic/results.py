"""What the chronic-disease services answer: typed results, serialised by the handlers'
response models (``handlers/responses/``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.chronic.entitlement import CATEGORY_NAMES, SPEC, STATUS_NAMES
from backend.chronic.models import ChronicQualification
from backend.entitlements.template import Standing
from config.policy import ChronicDisease


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str


def criteria_of(disease: ChronicDisease) -> list[Criterion]:
    return [Criterion(code, text) for code, text in disease.criteria.items()]


@dataclass(frozen=True)
class CatalogueDisease:
    """One disease of the catalogue in force, for the application form."""

    code: str
    name: str
    category: str
    category_name: str
    evidence: list[str]
    criteria: list[Criterion]
    fast_track: bool
    validity_years: int | None
    institutions: int

    @classmethod
    def of(cls, code: str, d: ChronicDisease) -> CatalogueDisease:
        return cls(
            code=code,
            name=d.name,
            category=d.category,
            category_name=CATEGORY_NAMES[d.category],
            evidence=list(d.evidence),
            criteria=criteria_of(d),
            fast_track=d.fast_track,
            validity_years=d.validity_years,
            institutions=d.institutions,
        )


@dataclass(frozen=True)
class Qualification:
    """A qualification as its holder (or a reviewer revoking it) sees it today."""

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
    renewal_opens_on: date | None  # while in force
    end_reason: str | None
    version: int

    @classmethod
    def of(
        cls, q: ChronicQualification, standing: Standing, renewal_opens: date | None
    ) -> Qualification:
        in_force = standing.status == SPEC.active
        return cls(
            id=q.id,
            serial=q.serial,
            case_id=q.case_id,
            disease_code=q.disease_code,
            disease_name=q.disease_name,
            category=q.disease_category,
            category_name=CATEGORY_NAMES.get(q.disease_category, q.disease_category),
            fast_track=q.fast_track,
            institutions=list(q.institutions or []),
            valid_from=q.valid_from,
            valid_to=q.valid_to,
            status=standing.status,
            status_name=STATUS_NAMES[standing.status],
            renewal_opens_on=renewal_opens if in_force else None,
            end_reason=standing.end_reason or None,
            version=q.version,
        )


@dataclass(frozen=True)
class CoveringQualification:
    """A qualification covering today: the e-voucher answer and the citizen's benefits."""

    serial: str
    disease_code: str
    disease_name: str
    category: str
    institutions: list[str]
    valid_from: date
    valid_to: date | None

    @classmethod
    def of(cls, q: ChronicQualification) -> CoveringQualification:
        return cls(
            serial=q.serial,
            disease_code=q.disease_code,
            disease_name=q.disease_name,
            category=q.disease_category,
            institutions=list(q.institutions or []),
            valid_from=q.valid_from,
            valid_to=q.valid_to,
        )


@dataclass(frozen=True)
class RecordedVerdict:
    level: int
    criterion: str
    met: bool
    note: str | None


@dataclass(frozen=True)
class ReviewCriteria:
    """What an expert reviewer assesses a task against, and the verdicts recorded so far."""

    task_id: int
    case_id: int
    disease_code: str
    disease_name: str
    criteria: list[Criterion]
    verdicts: list[RecordedVerdict]
