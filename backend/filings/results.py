"""What the remote-care filing services answer: typed results, serialised by the handlers'
response models (``handlers/responses/``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.entitlements.results import Covering, Holding, covering_of, holding_of
from backend.entitlements.template import Standing
from backend.filings.entitlement import CATEGORY_NAMES, STATUS_NAMES
from backend.filings.models import RemoteCareFiling
from config.policy import RemoteCareFilingType


@dataclass(frozen=True)
class FilingType:
    """One filing type in force, with its rules, for the application form."""

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
    ratio_adjustment: str  # a decimal, exactly as configured

    @classmethod
    def of(cls, code: str, t: RemoteCareFilingType) -> FilingType:
        return cls(
            code=code,
            name=t.name,
            category=t.category,
            category_name=CATEGORY_NAMES[t.category],
            proofs=list(t.proofs),
            commitment=t.commitment,
            instant=not t.review,
            requires_hospital=t.requires_hospital,
            validity_days=t.validity_days,
            min_days_before_change=t.min_days_before_change,
            retroactive_days=t.retroactive_days,
            ratio_adjustment=str(t.ratio_adjustment),
        )


@dataclass(frozen=True)
class Filing(Holding):
    """A filing as its holder sees it today."""

    filing_type: str
    type_name: str
    province_code: str
    city_code: str
    destination_hospital: str | None
    commitment: bool
    retroactive: bool
    start_date: date
    change_opens_on: date | None
    replaces_id: int | None

    @classmethod
    def of(cls, f: RemoteCareFiling, standing: Standing, change_opens: date | None) -> Filing:
        category = str(f.category)
        held = holding_of(
            f,
            standing,
            category=category,
            category_name=CATEGORY_NAMES[category],
            status_names=STATUS_NAMES,
        )
        return cls(
            **vars(held),
            filing_type=f.filing_type,
            type_name=f.type_name,
            province_code=f.province_code,
            city_code=f.city_code,
            destination_hospital=f.destination_hospital or None,
            commitment=f.commitment,
            retroactive=f.retroactive,
            start_date=f.start_date,
            change_opens_on=change_opens,
            replaces_id=f.replaces_id,
        )


@dataclass(frozen=True)
class CoveringFiling(Covering):
    """A filing covering today: the e-voucher answer and the citizen's benefits."""

    filing_type: str
    type_name: str
    province_code: str
    city_code: str

    @classmethod
    def of(cls, f: RemoteCareFiling) -> CoveringFiling:
        return cls(
            **vars(covering_of(f, str(f.category))),
            filing_type=f.filing_type,
            type_name=f.type_name,
            province_code=f.province_code,
            city_code=f.city_code,
        )
