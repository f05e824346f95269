"""Policy tables: YAML files in ``config/policy/``, each a list of versions with an
``effective_from`` date, validated at start-up.

A bad file stops start-up with a :class:`PolicyError` that names the file and the field, so an
operator who mistyped a premium finds it before a citizen pays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

POLICY_DIR = Path(__file__).parent / "policy"


class PolicyError(Exception):
    """A policy file is missing, unreadable or invalid."""


class Versioned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    effective_from: date


class FamilyPolicy(Versioned):
    max_members: int = Field(ge=1, le=20)
    adult_age: int = Field(ge=14, le=25)


class AccessPolicy(Versioned):
    login_max_failures: int = Field(ge=1)
    lockout_minutes: int = Field(ge=1)
    login_attempts_per_minute: int = Field(ge=1)
    bindings_per_hour: int = Field(ge=1)


def _expand_dates(value: Any) -> list[date]:
    """Dates as YAML dates or ``"2025-01-28 .. 2025-02-04"`` ranges (both ends included)."""
    if not isinstance(value, list):
        raise ValueError("expected a list of dates")
    out: list[date] = []
    for item in value:
        if isinstance(item, date):
            out.append(item)
            continue
        text = str(item)
        first, sep, last = text.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError as exc:
            raise ValueError(f"not a date or a date range: {text!r}") from exc
        if end < start:
            raise ValueError(f"range ends before it starts: {text!r}")
        out.extend(start + timedelta(days=i) for i in range((end - start).days + 1))
    return out


class HolidayYear(Versioned):
    """One year of public holidays and adjusted working days (调休), by the State Council notice."""

    year: int = Field(ge=2000, le=2100)
    holidays: list[date]
    adjusted_workdays: list[date] = Field(default_factory=list)
    provisional: bool = False  # the notice is not out yet: statutory days only

    _dates = field_validator("holidays", "adjusted_workdays", mode="before")(
        lambda v: _expand_dates(v)
    )

    @model_validator(mode="after")
    def _consistent(self) -> HolidayYear:
        if self.effective_from != date(self.year, 1, 1):
            raise ValueError("effective_from must be January 1 of year")
        for name in ("holidays", "adjusted_workdays"):
            days = getattr(self, name)
            if any(d.year != self.year for d in days):
                raise ValueError(f"{name}: a date outside {self.year}")
            if len(set(days)) != len(days):
                raise ValueError(f"{name}: a date listed twice")
        if set(self.holidays) & set(self.adjusted_workdays):
            raise ValueError("a date is both a holiday and an adjusted working day")
        if any(d.weekday() < 5 for d in self.adjusted_workdays):
            raise ValueError("adjusted_workdays: only weekend days can be adjusted working days")
        return self


class ServiceTimeLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    amount: int = Field(ge=1, le=365)
    unit: Literal["working_days", "natural_days", "hours"]
    warning_ratio: float | None = Field(default=None, gt=0, lt=1)


class CaseWorkflowPolicy(Versioned):
    """Time limits (办理时限) per service, warning threshold, 容缺 deadline, coded reasons."""

    warning_ratio: float = Field(gt=0, lt=1)
    tolerance_working_days: int = Field(ge=1, le=60)
    time_limits: dict[str, ServiceTimeLimit]
    reasons: dict[Literal["refuse", "correction", "reject", "supplement"], dict[str, str]]

    @model_validator(mode="after")
    def _all_reason_kinds(self) -> CaseWorkflowPolicy:
        for kind in ("refuse", "correction", "reject", "supplement"):
            if not self.reasons.get(kind):
                raise ValueError(f"reasons.{kind}: at least one coded reason")
        return self


class SubsidyCategory(BaseModel):
    """A group whose resident-insurance contribution is paid in full or in part by the state
    (资助参保): e.g. 特困人员 fully, 低保对象 by a fixed amount."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=30)
    full: bool = False  # the whole individual contribution is paid by the subsidy
    amount_fen: int = Field(default=0, ge=0)  # otherwise this much of it, in fen

    @model_validator(mode="after")
    def _one_rule(self) -> SubsidyCategory:
        if self.full == (self.amount_fen > 0):
            raise ValueError("set either full: true or a positive amount_fen, not both")
        return self


class PremiumPolicy(Versioned):
    """The resident insurance premium of one insurance year (城乡居民医保个人缴费标准).

    ``effective_from`` is 1 January of the insurance year the version is for; money is in fen.
    """

    contribution_fen: int = Field(gt=0)  # standard individual contribution per person
    collection_start: date  # 集中征缴期, inclusive, local dates
    collection_end: date
    newborn_days: int = Field(ge=0, le=366)  # a newborn may enrol this many days after birth
    subsidies: dict[str, SubsidyCategory] = Field(default_factory=dict)

    @property
    def year(self) -> int:
        return self.effective_from.year

    @model_validator(mode="after")
    def _consistent(self) -> PremiumPolicy:
        if (self.effective_from.month, self.effective_from.day) != (1, 1):
            raise ValueError("effective_from must be 1 January of the insurance year")
        if self.collection_start > self.collection_end:
            raise ValueError("collection_start is after collection_end")
        if self.collection_end.year > self.year:
            raise ValueError("collection_end is after the insurance year")
        for code, category in self.subsidies.items():
            if category.amount_fen > self.contribution_fen:
                raise ValueError(f"subsidy {code} is larger than the contribution")
        return self


class VoucherPurpose(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=30)


class VoucherPolicy(Versioned):
    """E-voucher (医保电子凭证) rules: the purposes a terminal may give for a scan (用码业务类型),
    the window in which uses in two cities raise an alert, and limits."""

    insurance_type_code: str = Field(pattern=r"^[0-9]{3}$")  # 险种, e.g. 390 城乡居民基本医疗保险
    insurance_type_name: str = Field(min_length=1, max_length=30)
    purposes: dict[str, VoucherPurpose] = Field(min_length=1)
    cross_city_window_minutes: int = Field(ge=1, le=7 * 24 * 60)
    offline_report_max_hours: int = Field(ge=1, le=30 * 24)  # how late an offline use may come
    offline_batch_max: int = Field(ge=1, le=500)
    codes_per_minute: int = Field(ge=1, le=600)  # per voucher, against scripted code minting

    @field_validator("purposes")
    @classmethod
    def _purpose_codes(cls, value: dict[str, VoucherPurpose]) -> dict[str, VoucherPurpose]:
        bad = [code for code in value if not (len(code) == 5 and code.isdigit())]
        if bad:
            raise ValueError(f"purpose codes must be 5 digits: {', '.join(bad)}")
        return value


class CareTerms(BaseModel):
    """What the fund pays for one visit at one institution level: 起付标准 and 报销比例."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    deductible_fen: int = Field(ge=0)
    ratio: Decimal = Field(ge=0, le=1, decimal_places=4)


VisitType = Literal["outpatient", "inpatient"]
InstitutionLevel = Literal["primary", "secondary", "tertiary"]


class ReimbursementPolicy(Versioned):
    """零星（手工）报销: claim window, deductibles and ratios by visit type and institution level,
    the yearly cap, the lower rate for unfiled care outside the insured region, the amount above
    which a second reviewer is needed, and the payout time limit. Money in fen."""

    insured_region_code: str = Field(pattern=r"^[0-9]{6}$")  # 统筹区 (city) code
    claim_window_days: int = Field(ge=1, le=3 * 366)  # invoice date at most this old
    yearly_cap_fen: int = Field(gt=0)  # 年度最高支付限额, counting payouts of the year
    terms: dict[VisitType, dict[InstitutionLevel, CareTerms]]
    # care outside the insured region without a remote-care filing: ratio lowered by this
    remote_unfiled_reduction: Decimal = Field(ge=0, le=1, decimal_places=4)
    second_review_above_fen: int = Field(ge=0)  # 双人复核 when the payable amount exceeds it
    payout_working_days: int = Field(ge=1, le=60)  # 限期汇款到账, after approval
    photo_hash_max_distance: int = Field(ge=0, le=3)  # dHash bits; <=3 keeps the band index exact

    @model_validator(mode="after")
    def _complete(self) -> ReimbursementPolicy:
        for visit in ("outpatient", "inpatient"):
            levels = self.terms.get(visit)  # type: ignore[call-overload]
            if not levels or set(levels) != {"primary", "secondary", "tertiary"}:
                raise ValueError(f"terms.{visit}: primary, secondary and tertiary are all needed")
        return self


T = TypeVar("T", bound=Versioned)


@dataclass(frozen=True)
class PolicyTable(Generic[T]):
    name: str
    versions: tuple[T, ...]  # sorted by effective_from

    def at(self, on: date) -> T:
        """The version in force on ``on``."""
        current = None
        for version in self.versions:
            if version.effective_from <= on:
                current = version
        if current is None:
            raise PolicyError(f"{self.name}: no version in force on {on.isoformat()}")
        return current


def load_table(path: Path, model: type[T]) -> PolicyTable[T]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path.name}: file is missing") from exc
    except (yaml.YAMLError, ValueError) as exc:  # YAML dates like 2024-13-01 raise ValueError
        raise PolicyError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{path.name}: expected a non-empty list of versions")
    versions = []
    for i, item in enumerate(raw):
        try:
            versions.append(model.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(version)"
            raise PolicyError(f"{path.name}: version {i + 1}: field {field}: {err['msg']}") from exc
    versions.sort(key=lambda v: v.effective_from)
    dates = [v.effective_from for v in versions]
    if len(set(dates)) != len(dates):
        raise PolicyError(f"{path.name}: two versions share an effective_from date")
    return PolicyTable(path.stem, tuple(versions))


@dataclass(frozen=True)
class Policies:
    family: PolicyTable[FamilyPolicy]
    access: PolicyTable[AccessPolicy]
    premium: PolicyTable[PremiumPolicy]
    holidays: PolicyTable[HolidayYear]
    case_workflow: PolicyTable[CaseWorkflowPolicy]
    voucher: PolicyTable[VoucherPolicy]
    reimbursement: PolicyTable[ReimbursementPolicy]


def load_policies(directory: Path = POLICY_DIR) -> Policies:
    return Policies(
        family=load_table(directory / "family.yaml", FamilyPolicy),
        access=load_table(directory / "access.yaml", AccessPolicy),
        premium=load_table(directory / "premium.yaml", PremiumPolicy),
        holidays=load_table(directory / "holidays.yaml", HolidayYear),
        case_workflow=load_table(directory / "case_workflow.yaml", CaseWorkflowPolicy),
        voucher=load_table(directory / "voucher.yaml", VoucherPolicy),
        reimbursement=load_table(directory / "reimbursement.yaml", ReimbursementPolicy),
    )
