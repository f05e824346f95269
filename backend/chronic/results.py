"""What the chronic-disease services answer: typed results, serialised by the handlers'
response models (``handlers/responses/``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.chronic.entitlement import CATEGORY_NAMES, SPEC, STATUS_NAMES
from backend.chronic.models import ChronicQualification
from backend.entitlements.results import Covering, Holding, covering_of, holding_of
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
class Qualification(Holding):
    """A qualification as its holder (or a reviewer revoking it) sees it today."""

    disease_code: str
    disease_name: str
    fast_track: bool
    institutions: list[str]
    renewal_opens_on: date | None  # while in force

    @classmethod
    def of(
        cls, q: ChronicQualification, standing: Standing, renewal_opens: date | None
    ) -> Qualification:
        in_force = standing.status == SPEC.active
        category = q.disease_category
        held = holding_of(
            q,
            standing,
            category=category,
            category_name=CATEGORY_NAMES.get(category, category),
            status_names=STATUS_NAMES,
        )
        return cls(
            **vars(held),
            disease_code=q.disease_code,
            disease_name=q.disease_name,
            fast_track=q.fast_track,
            institutions=list(q.institutions or []),
            renewal_opens_on=renewal_opens if in_force else None,
        )


@dataclass(frozen=True)
class CoveringQualification(Covering):
    """A qualification covering today: the e-voucher answer and the citizen's benefits."""

    disease_code: str
    disease_name: str
    institutions: list[str]

    @classmethod
    def of(cls, q: ChronicQualification) -> CoveringQualification:
        return cls(
            **vars(covering_of(q, q.disease_category)),
            disease_code=q.disease_code,
            disease_name=q.disease_name,
            institutions=list(q.institutions or []),
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
