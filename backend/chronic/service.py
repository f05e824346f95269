"""Chronic and special-disease qualification (门诊慢特病资格认定): applying and reading.

- Applications are cases of ``chronic_disease`` owned by this domain: :func:`submit` (the
  citizen, or station staff with the applicant's authorisation) and :func:`renew` check the
  form against the disease catalogue in force (``config/policy/chronic.yaml``) and derive the
  facts the definition reads: the evidence the disease needs and the fast track (即受即办
  without expert review).
- Expert review per criterion: :mod:`backend.chronic.review`; the qualification recorded on
  issuance, revocation and renewal reminders: :mod:`backend.chronic.records`.
- One active qualification per person and disease, and the reads, are the shared entitlement
  template's (:mod:`backend.entitlements.template`); a lapsed qualification reads as expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from backend.cases import assisted, hooks
from backend.cases.models import Case
from backend.chronic import records
from backend.chronic.entitlement import SPEC, QualificationChanged, disease, policy
from backend.chronic.models import ChronicQualification
from backend.chronic.results import CatalogueDisease, CoveringQualification, Qualification
from backend.clock import local_today
from backend.container import Container
from backend.entitlements import template
from backend.errors import Conflict, InvalidInput
from backend.identity.principal import Principal
from config.policy import ChronicPolicy

SEPARATOR = records.SEPARATOR


def catalogue(c: Container) -> list[CatalogueDisease]:
    """The disease catalogue in force today."""
    return [CatalogueDisease.of(code, d) for code, d in policy(c).diseases.items()]


# -- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChronicRequest:
    disease_code: str
    diagnosis_date: date
    diagnosis_hospital: str
    diagnosis_hospital_level: int
    designated_institutions: list[str]
    note: str = ""
    materials: list[Mapping[str, str]] = field(default_factory=list)
    delivery_method: str | None = None

    def institutions(self) -> list[str]:
        return [i.strip() for i in self.designated_institutions]

    def form(self, *, renews: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "disease_code": self.disease_code,
            "diagnosis_date": self.diagnosis_date.isoformat(),
            "diagnosis_hospital": self.diagnosis_hospital,
            "diagnosis_hospital_level": str(self.diagnosis_hospital_level),
            "designated_institutions": SEPARATOR.join(self.institutions()),
        }
        if self.note:
            out["note"] = self.note
        if renews is not None:
            out["renews_qualification"] = str(renews)
        return out


def derive(pol: ChronicPolicy, req: ChronicRequest, today: date) -> dict[str, Any]:
    found = disease(pol, req.disease_code)
    if req.diagnosis_date > today:
        raise InvalidInput(
            "确诊日期不能晚于今天", code="DIAGNOSIS_DATE_INVALID", field="diagnosis_date"
        )
    if req.diagnosis_hospital_level not in (1, 2, 3):
        raise InvalidInput(
            "诊断医院等级应为 1、2 或 3",
            code="HOSPITAL_LEVEL_INVALID",
            field="diagnosis_hospital_level",
        )
    names = req.institutions()
    if not names or len(names) > found.institutions:
        raise InvalidInput(
            f"{found.name}可选择1至{found.institutions}家定点医疗机构",
            code="INSTITUTIONS_INVALID",
            field="designated_institutions",
        )
    if len(set(names)) != len(names) or any(not 2 <= len(n) <= 60 or SEPARATOR in n for n in names):
        raise InvalidInput(
            "定点医疗机构名称无效或重复",
            code="INSTITUTIONS_INVALID",
            field="designated_institutions",
        )
    derived = template.proof_facts(SPEC, found.evidence)
    derived["$fast_track"] = (
        found.fast_track and req.diagnosis_hospital_level >= found.fast_track_min_level
    )
    derived["$disease_category"] = found.category
    return derived


# -- applying -------------------------------------------------------------------------------


async def submit(
    c: Container,
    principal: Principal,
    req: ChronicRequest,
    assisted: assisted.Assistance | None = None,
) -> Case:
    """A citizen applies in the app, or station staff apply for a citizen (``assisted``: the
    applicant's authorisation, a signed form now or a confirmation in the app)."""
    today = local_today(c.clock)
    derived = derive(policy(c, today), req, today)
    new = template.new_case(SPEC, req, derived, req.form())
    return await template.submit(c, SPEC, principal, new, req.disease_code, assisted)


def renewal_opens(c: Container, q: ChronicQualification) -> date | None:
    if q.valid_to is None:
        return None
    return q.valid_to - timedelta(days=policy(c).renewal_window_days)


async def renew(
    c: Container,
    principal: Principal,
    qualification_id: int,
    *,
    version: int,
    req: ChronicRequest,
) -> Case:
    """Apply to continue a qualification before it expires (the same disease)."""
    q = await template.own(c, SPEC, principal, qualification_id)
    if q.version != version:
        raise QualificationChanged(current_version=q.version)
    today = local_today(c.clock)
    if not template.in_force(SPEC, q, today):
        raise Conflict("该资格已失效，请重新申请认定", code="QUALIFICATION_NOT_ACTIVE")
    opens = renewal_opens(c, q)
    if opens is None:
        raise Conflict("该资格长期有效，无需续期", code="RENEWAL_NOT_NEEDED")
    if today < opens:
        raise Conflict(
            f"到期前{policy(c).renewal_window_days}天内可申请续期，最早可于"
            f"{opens:%Y年%m月%d日}办理",
            code="RENEWAL_NOT_OPEN",
            opens_on=opens.isoformat(),
        )
    if req.disease_code != q.disease_code:
        raise InvalidInput(
            "续期的病种须与原资格一致", code="DISEASE_MISMATCH", field="disease_code"
        )
    derived = derive(policy(c, today), req, today)
    new = template.new_case(SPEC, req, derived, req.form(renews=q.id))
    return await template.submit_successor(c, SPEC, principal, q, new)


def register_hooks(registry: hooks.ServiceHookRegistry) -> None:
    registry.register(
        SPEC.service,
        hooks.ServiceHooks(after_transition=records.after_transition, owner=SPEC.owner),
    )


# -- reads (never write: a lapsed qualification reads as expired) ------------------------------


def qualification_result(c: Container, q: ChronicQualification) -> Qualification:
    standing = template.standing(SPEC, q, local_today(c.clock))
    return Qualification.of(q, standing, renewal_opens(c, q))


async def recorded_for(c: Container, case: Case) -> Qualification | None:
    """The qualification an application's case recorded (None: not issued yet)."""
    q = await ChronicQualification.get_or_none(case_id=case.id)
    return qualification_result(c, q) if q else None


async def my_qualifications(c: Container, principal: Principal) -> list[Qualification]:
    return [qualification_result(c, q) for q in await template.mine(SPEC, principal)]


async def my_qualification(c: Container, principal: Principal, qid: int) -> Qualification:
    return qualification_result(c, await template.own(c, SPEC, principal, qid))


async def active_qualifications(c: Container, person_id: int) -> list[CoveringQualification]:
    """The qualifications covering today (for the e-voucher answer and the profile)."""
    return [CoveringQualification.of(q) for q in await template.covering_today(c, SPEC, person_id)]
