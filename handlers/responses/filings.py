"""Response models of remote-care filings and the citizen's benefits."""

from __future__ import annotations

from datetime import date

from handlers.responses.base import Out
from handlers.responses.cases import CaseOut


class FilingOut(Out):
    id: int
    serial: str
    case_id: int
    filing_type: str
    type_name: str
    category: str
    category_name: str
    province_code: str
    city_code: str
    destination_hospital: str | None
    commitment: bool
    retroactive: bool
    start_date: date
    valid_from: date
    valid_to: date | None
    status: str
    status_name: str
    end_reason: str | None
    change_opens_on: date | None
    replaces_id: int | None
    version: int


class ChangeFilingOut(Out):
    case: CaseOut
    filing: FilingOut


class FileOut(Out):
    case: CaseOut
    filing: FilingOut | None


class FileAssistedOut(Out):
    case: CaseOut
    filing: FilingOut | None


class FilingEffectOut(Out):
    out_of_region: bool
    filed: bool
    ratio_adjustment: str
    note: str
    filing_id: int
    filing_serial: str
    filing_type: str
    filing_type_name: str
    category: str


class FilingTypesItem(Out):
    code: str
    name: str
    category: str
    category_name: str
    proofs: list[str]
    commitment: str
    instant: bool
    requires_hospital: bool
    validity_days: int | None
    min_days_before_change: int
    retroactive_days: int
    ratio_adjustment: str


class FilingTypesOut(Out):
    items: list[FilingTypesItem]


class MyBenefitsChronicQualification(Out):
    serial: str
    disease_code: str
    disease_name: str
    category: str
    institutions: list[str]
    valid_from: date
    valid_to: date | None  # null: long-term


class MyBenefitsRemoteCareFiling(Out):
    serial: str
    filing_type: str
    type_name: str
    category: str
    province_code: str
    city_code: str
    valid_from: date
    valid_to: date | None


class MyBenefitsOut(Out):
    chronic_qualifications: list[MyBenefitsChronicQualification]
    remote_care_filings: list[MyBenefitsRemoteCareFiling]


class MyFilingsOut(Out):
    items: list[FilingOut]
