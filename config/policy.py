"""Policy tables: YAML files in ``config/policy/``, each a list of versions with an
``effective_from`` date, validated at start-up.

A bad file stops start-up with a :class:`PolicyError` that names the file and the field, so an
operator who mistyped a premium finds it before a citizen pays it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workflows.definitions.chronic_disease import EVIDENCE as CHRONIC_MATERIALS
from workflows.definitions.remote_care_filing import PROOFS as FILING_MATERIALS

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
    lockout_max_minutes: int = Field(ge=1)
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
    # Insured on a day of the year when that year's enrollment is paid; a newborn enrolled
    # within newborn_days from the day of birth (True) or only from the day of payment (False).
    newborn_covered_from_birth: bool = True
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
    the yearly cap, the amount above which a second reviewer is needed, and the payout time
    limit. Money in fen. Care outside the insured city follows the remote-care policy
    (remote_care.yaml): the filing's ratio adjustment, or the one for care without a filing."""

    claim_window_days: int = Field(ge=1, le=3 * 366)  # invoice date at most this old
    yearly_cap_fen: int = Field(gt=0)  # 年度最高支付限额 of basic insurance, per care year
    terms: dict[VisitType, dict[InstitutionLevel, CareTerms]]
    second_review_above_fen: int = Field(ge=0)  # 双人复核 when the payable amount exceeds it
    payout_working_days: int = Field(ge=1, le=60)  # 限期汇款到账, after approval
    photo_hash_max_distance: int = Field(ge=0, le=3)  # dHash bits; <=3 keeps the band index exact

    @model_validator(mode="after")
    def _complete(self) -> ReimbursementPolicy:
        for visit in ("outpatient", "inpatient"):
            levels = self.terms.get(visit)
            if not levels or set(levels) != {"primary", "secondary", "tertiary"}:
                raise ValueError(f"terms.{visit}: primary, secondary and tertiary are all needed")
        return self


# -- remote-care filing (异地就医备案) ---------------------------------------------------------

# The proofs a filing type may ask for: material keys of the remote_care_filing definition
# (workflows/vocabulary.py), the commitment letter aside (``commitment`` decides on it).
FILING_PROOFS = tuple(k for k in FILING_MATERIALS if k != "commitment_letter")
# The first two digits of a province-level administrative division code (GB/T 2260).
PROVINCE_PREFIXES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82"),
    }
)


def is_province_code(code: str) -> bool:
    return (
        len(code) == 6 and code.isdigit() and code[:2] in PROVINCE_PREFIXES and code[2:] == "0000"
    )


def is_city_code(code: str) -> bool:
    """A prefecture-level code: ``PPCC00`` with CC not 00 (municipalities use PP0100)."""
    return (
        len(code) == 6
        and code.isdigit()
        and code[:2] in PROVINCE_PREFIXES
        and code[2:4] != "00"
        and code[4:] == "00"
    )


class RemoteCareFilingType(BaseModel):
    """One filing type (备案类型) of the national platform, with its acceptance rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=30)
    category: Literal["long_term", "temporary"]  # 异地长期居住人员 / 临时外出就医人员
    national_code: str = Field(default="", pattern=r"^([0-9]{2})?$")  # RLOC_REA, when known
    proofs: list[str] = Field(default_factory=list)  # key materials (FILING_PROOFS)
    # 承诺制: none; may_replace (a personal commitment letter may replace the proofs);
    # required (the commitment letter is the only material)
    commitment: Literal["none", "may_replace", "required"] = "none"
    review: bool = False  # False: 即受即办 when the rules hold; True: back-office review
    requires_hospital: bool = False  # the destination hospital must be named (转诊)
    validity_days: int | None = Field(default=None, ge=1, le=3660)  # temporary only
    min_days_before_change: int = Field(default=0, ge=0, le=3660)  # long-term: 变更/取消间隔
    retroactive_days: int = Field(default=0, ge=0, le=3660)  # 补备案: 0 = not allowed
    ratio_adjustment: Decimal = Field(ge=-1, le=0)  # added to the reimbursement ratio

    @field_validator("proofs")
    @classmethod
    def _known_proofs(cls, v: list[str]) -> list[str]:
        return _known(v, FILING_PROOFS)

    @model_validator(mode="after")
    def _consistent(self) -> RemoteCareFilingType:
        if self.category == "long_term" and self.validity_days is not None:
            raise ValueError("validity_days: a long-term filing is valid until changed")
        if self.category == "temporary" and self.validity_days is None:
            raise ValueError("validity_days: required for a temporary filing")
        if self.commitment == "may_replace" and not self.proofs:
            raise ValueError("commitment: may_replace needs proofs to replace")
        if self.commitment == "required" and self.proofs:
            raise ValueError("commitment: required means no proofs")
        if len(set(self.proofs)) != len(self.proofs):
            raise ValueError("proofs: a proof listed twice")
        return self


class RemoteCarePolicy(Versioned):
    """异地就医备案: the filing types (national defaults), the home city, ratio adjustments."""

    home_city_code: str  # the insured city (参保地), prefecture-level code
    province_wide_settlement: bool = False  # no filing needed for care inside the home province
    no_filing_ratio_adjustment: Decimal = Field(ge=-1, le=0)  # out-of-region care, no filing
    max_start_days_ahead: int = Field(ge=0, le=366)  # a start date at most this far ahead
    types: dict[str, RemoteCareFilingType] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RemoteCarePolicy:
        if not is_city_code(self.home_city_code):
            raise ValueError("home_city_code: not a prefecture-level code like 330100")
        bad = [k for k in self.types if not k.replace("_", "").isalpha() or not k.islower()]
        if bad:
            raise ValueError(f"types: codes are lower-case words: {', '.join(bad)}")
        return self


# -- chronic and special diseases (门诊慢特病) ------------------------------------------------

# The evidence a disease may ask for: material keys of the chronic_disease definition.
CHRONIC_EVIDENCE = ("diagnosis_certificate", *(key for key, _ in CHRONIC_MATERIALS))


def _known(values: list[str], known: tuple[str, ...]) -> list[str]:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown material key(s) {unknown}; known: {', '.join(known)}")
    return values


class ChronicDisease(BaseModel):
    """One disease of the catalogue (病种目录); its key is the code (national M-code if known)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=40)
    category: Literal["chronic", "special"]  # 慢性病 / 特殊病
    evidence: list[str] = Field(min_length=1)  # material keys (CHRONIC_EVIDENCE)
    criteria: dict[str, str] = Field(min_length=1)  # 认定标准, reviewed one by one
    fast_track: bool = False  # approved without expert review with a clear diagnosis
    fast_track_min_level: int = Field(default=2, ge=1, le=3)  # hospital level of that diagnosis
    validity_years: int | None = Field(default=None, ge=1, le=10)  # None: 长期有效
    institutions: int = Field(ge=1, le=5)  # designated institutions the holder may choose

    @field_validator("evidence")
    @classmethod
    def _known_evidence(cls, v: list[str]) -> list[str]:
        return _known(v, CHRONIC_EVIDENCE)

    @model_validator(mode="after")
    def _consistent(self) -> ChronicDisease:
        if "diagnosis_certificate" not in self.evidence:
            raise ValueError("evidence: must include diagnosis_certificate")
        if len(set(self.evidence)) != len(self.evidence):
            raise ValueError("evidence: listed twice")
        bad = [k for k in self.criteria if not (k[:1].isalpha() and k.isalnum() and len(k) <= 8)]
        if bad:
            raise ValueError(f"criteria: codes are short letters and digits: {', '.join(bad)}")
        return self


class ChronicPolicy(Versioned):
    """门诊慢特病: the disease catalogue, renewal window and reminders, revocation reasons."""

    renewal_window_days: int = Field(ge=1, le=366)  # renewal possible this long before expiry
    reminder_days_before: int = Field(ge=1, le=366)  # the citizen is reminded this long before
    revoke_reasons: dict[str, str] = Field(min_length=1)
    diseases: dict[str, ChronicDisease] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ChronicPolicy:
        if self.reminder_days_before > self.renewal_window_days:
            raise ValueError("reminder_days_before: after the renewal window opens")
        bad = [k for k in self.diseases if not re.fullmatch(r"(M[0-9]{5}|[A-Z]{1,2}[0-9]{3,5})", k)]
        if bad:
            raise ValueError(f"diseases: codes like M03900 (or local L0001): {', '.join(bad)}")
        return self


# -- the insurance catalogue (医保目录) and the settlement schemes after basic insurance ----------

ItemClass = Literal["jia", "yi", "bing", "zifei"]  # 甲类, 乙类, 丙类, 自费
ITEM_CLASSES: tuple[ItemClass, ...] = ("jia", "yi", "bing", "zifei")
# National code shapes (医保业务编码): western drugs X + 22, Chinese patent drugs Z + 19,
# medical services 15 digits, medical consumables C + 26 digits.
CATALOGUE_CODE = {
    "drug": re.compile(
        r"^(X[A-Z][0-9]{2}[A-Z]{3}[0-9]{3}[A-Z][0-9]{12}|Z[A-Z][0-9]{2}[A-Z]{3}[0-9]{13})$"
    ),
    "service": re.compile(r"^[0-9]{15}$"),
    "material": re.compile(r"^C[0-9]{26}$"),
}


def normalise_item_name(name: str) -> str:
    """The form names are matched in: full-width folded, spaces and a trailing specification
    in brackets dropped (``阿莫西林胶囊（0.25g*24粒）`` → ``阿莫西林胶囊``)."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"\s+", "", text)
    return re.sub(r"\([^()]*\)$", "", text) or text


class CatalogueItem(BaseModel):
    """One catalogue entry: national code, name, kind and class (乙类 with its 先行自付 share)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    code: str
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["drug", "service", "material"]
    item_class: ItemClass = Field(alias="class")
    self_pay_ratio: Decimal | None = Field(default=None, gt=0, lt=1, decimal_places=4)

    @model_validator(mode="after")
    def _consistent(self) -> CatalogueItem:
        if not CATALOGUE_CODE[self.kind].match(self.code):
            raise ValueError(f"code {self.code}: not the national shape of a {self.kind} code")
        if self.self_pay_ratio is not None and self.item_class != "yi":
            raise ValueError(f"{self.code}: self_pay_ratio is for 乙类 (yi) items only")
        return self


class CatalogueVersion(Versioned):
    """A catalogue version as written: whole, or changes to the previous version."""

    extends_previous: bool = False
    yi_self_pay_ratio: Decimal | None = Field(default=None, gt=0, lt=1, decimal_places=4)
    items: list[CatalogueItem] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class Catalogue(Versioned):
    """The catalogue in force from ``effective_from``: every item, by code and by name."""

    yi_self_pay_ratio: Decimal = Field(gt=0, lt=1)
    items: dict[str, CatalogueItem]  # by code

    @model_validator(mode="after")
    def _names_unique(self) -> Catalogue:
        seen: dict[str, str] = {}
        for code, item in self.items.items():
            key = normalise_item_name(item.name)
            if key in seen:
                raise ValueError(f"items: {seen[key]} and {code} have the same name {item.name}")
            seen[key] = code
        return self

    @cached_property
    def by_name(self) -> dict[str, CatalogueItem]:
        return {normalise_item_name(i.name): i for i in self.items.values()}

    def find(self, code: str | None, name: str | None) -> tuple[CatalogueItem | None, str]:
        """The entry by code, else by normalised name; with how it was found."""
        if code and code.strip().upper() in self.items:
            return self.items[code.strip().upper()], "code"
        if name and (item := self.by_name.get(normalise_item_name(name))) is not None:
            return item, "name"
        return None, ""

    def search(self, text: str, limit: int) -> list[CatalogueItem]:
        """Items whose code starts with, or whose normalised name contains, ``text``."""
        key = normalise_item_name(text)
        if not key:
            return []
        found = [
            i
            for i in self.items.values()
            if i.code.startswith(key.upper()) or key in normalise_item_name(i.name)
        ]
        return sorted(found, key=lambda i: (len(i.name), i.code))[:limit]

    def self_pay_ratio(self, item: CatalogueItem) -> Decimal:
        return item.self_pay_ratio if item.self_pay_ratio is not None else self.yi_self_pay_ratio


def fold_catalogue(table: PolicyTable[CatalogueVersion]) -> PolicyTable[Catalogue]:
    """Each version's whole catalogue, applying ``extends_previous`` versions in date order."""
    whole: list[Catalogue] = []
    for n, version in enumerate(table.versions, 1):
        where = f"{table.name}.yaml: version {n}"
        previous = whole[-1] if whole else None
        if version.extends_previous and previous is None:
            raise PolicyError(f"{where}: extends_previous on the first version")
        items = dict(previous.items) if version.extends_previous and previous else {}
        for code in version.removed:
            if items.pop(code, None) is None:
                raise PolicyError(f"{where}: field removed: {code} is not in the catalogue")
        codes = [i.code for i in version.items]
        if len(set(codes)) != len(codes):
            raise PolicyError(f"{where}: field items: a code listed twice")
        items.update({i.code: i for i in version.items})
        ratio = version.yi_self_pay_ratio or (previous.yi_self_pay_ratio if previous else None)
        if ratio is None:
            raise PolicyError(f"{where}: field yi_self_pay_ratio: required")
        try:
            whole.append(
                Catalogue(
                    effective_from=version.effective_from, yi_self_pay_ratio=ratio, items=items
                )
            )
        except ValidationError as exc:
            raise PolicyError(f"{where}: {exc.errors()[0]['msg']}") from exc
    return PolicyTable(table.name, tuple(whole))


class CatastrophicBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    up_to_fen: int | None = Field(gt=0)  # upper end above the threshold; None = no end
    ratio: Decimal = Field(gt=0, le=1, decimal_places=4)


class CatastrophicPreference(BaseModel):
    """大病保险倾斜: lower threshold, higher ratios and no cap for assisted groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    categories: list[str] = Field(min_length=1)
    threshold_factor: Decimal = Field(ge=0, le=1, decimal_places=4)
    ratio_bonus: Decimal = Field(ge=0, le=1, decimal_places=4)
    no_cap: bool = False


class CatastrophicInsurance(BaseModel):
    """大病保险: pays on the year's accumulated eligible amount left to the person after basic
    insurance (合规费用), above the threshold, band by band."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    visit_types: list[VisitType] = Field(min_length=1)
    threshold_fen: int = Field(ge=0)
    bands: list[CatastrophicBand] = Field(min_length=1)
    yearly_cap_fen: int = Field(gt=0)
    preferential: CatastrophicPreference | None = None

    @model_validator(mode="after")
    def _bands_ascend(self) -> CatastrophicInsurance:
        ends = [b.up_to_fen for b in self.bands]
        if ends[-1] is not None or None in ends[:-1]:
            raise ValueError("bands: only the last band is open-ended (up_to_fen: null)")
        if ends[:-1] != sorted(set(ends[:-1])):  # type: ignore[type-var]
            raise ValueError("bands: up_to_fen must ascend")
        return self


class AssistanceTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ratio: Decimal = Field(gt=0, le=1, decimal_places=4)
    yearly_cap_fen: int = Field(gt=0)


class MedicalAssistance(BaseModel):
    """医疗救助: per assisted category, its ratio on what is left after basic insurance and
    大病保险, up to its yearly cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    visit_types: list[VisitType] = Field(min_length=1)
    categories: dict[str, AssistanceTerms] = Field(min_length=1)


class SettlementPolicy(Versioned):
    """一站式结算 after basic insurance: 大病保险 and 医疗救助 (config/policy/settlement.yaml)."""

    catastrophic: CatastrophicInsurance
    assistance: MedicalAssistance

    def categories(self) -> set[str]:
        pref = self.catastrophic.preferential
        return set(self.assistance.categories) | set(pref.categories if pref else ())


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
    remote_care: PolicyTable[RemoteCarePolicy]
    chronic: PolicyTable[ChronicPolicy]
    catalogue: PolicyTable[Catalogue]
    settlement: PolicyTable[SettlementPolicy]


def _settlement(
    directory: Path, premium: PolicyTable[PremiumPolicy]
) -> PolicyTable[SettlementPolicy]:
    """The settlement table, its assisted categories checked against the subsidy categories."""
    table = load_table(directory / "settlement.yaml", SettlementPolicy)
    known = {code for version in premium.versions for code in version.subsidies}
    for n, version in enumerate(table.versions, 1):
        unknown = sorted(version.categories() - known)
        if unknown:
            raise PolicyError(
                f"settlement.yaml: version {n}: categories not in premium.yaml subsidies: "
                + ", ".join(unknown)
            )
    return table


def load_policies(directory: Path = POLICY_DIR) -> Policies:
    """Every table, in this order (a bad file is reported before the files after it)."""
    family = load_table(directory / "family.yaml", FamilyPolicy)
    access = load_table(directory / "access.yaml", AccessPolicy)
    premium = load_table(directory / "premium.yaml", PremiumPolicy)
    return Policies(
        family=family,
        access=access,
        premium=premium,
        holidays=load_table(directory / "holidays.yaml", HolidayYear),
        case_workflow=load_table(directory / "case_workflow.yaml", CaseWorkflowPolicy),
        voucher=load_table(directory / "voucher.yaml", VoucherPolicy),
        reimbursement=load_table(directory / "reimbursement.yaml", ReimbursementPolicy),
        remote_care=load_table(directory / "remote_care.yaml", RemoteCarePolicy),
        chronic=load_table(directory / "chronic.yaml", ChronicPolicy),
        catalogue=fold_catalogue(load_table(directory / "catalogue.yaml", CatalogueVersion)),
        settlement=_settlement(directory, premium),
    )
