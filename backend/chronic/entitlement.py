"""The chronic-disease qualification as an entitlement: its spec for the shared template, its
errors, names and policy (the disease catalogue, ``config/policy/chronic.yaml``)."""

from __future__ import annotations

from datetime import date

from backend.cases.models import Case
from backend.chronic.models import ChronicQualification, QualificationStatus
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.entitlements import template
from backend.entitlements.spec import EntitlementChanged, EntitlementNotFound, EntitlementSpec
from backend.errors import InvalidInput
from config.policy import ChronicDisease, ChronicPolicy
from workflows.definitions.chronic_disease import EVIDENCE
from workflows.vocabulary import CHRONIC_DISEASE

CATEGORY_NAMES = {"chronic": "慢性病", "special": "特殊病"}
STATUS_NAMES = {"active": "有效", "renewed": "已续期", "expired": "已到期", "revoked": "已取消"}


class QualificationNotFound(EntitlementNotFound):
    code = "QUALIFICATION_NOT_FOUND"
    message = "未找到该资格记录"


class QualificationChanged(EntitlementChanged):
    code = "QUALIFICATION_CHANGED"
    message = "资格记录已被他人处理或已更新，请刷新后重试"


SPEC = EntitlementSpec(
    service=CHRONIC_DISEASE,
    model=ChronicQualification,
    serial_prefix="MT",
    slot_field="disease_code",
    slot_form_key="disease_code",
    proof_keys=tuple(key for key, _ in EVIDENCE),
    active=QualificationStatus.ACTIVE,
    lapsed=QualificationStatus.EXPIRED,
    covering=(QualificationStatus.ACTIVE, QualificationStatus.RENEWED),
    covering_order="disease_code",
    policy_of=lambda policies: policies.chronic,
    not_found=QualificationNotFound,
    changed=QualificationChanged,
    id_detail="qualification_id",
    active_code="QUALIFICATION_ACTIVE",
    active_message=lambda _: "您已有该病种的有效资格，可在到期前申请续期",
    recorded_message=lambda _: "已有该病种的有效资格",
    in_progress_code="APPLICATION_IN_PROGRESS",
    in_progress_message="您已有该病种正在办理的申请，请等待办结或撤回后再申请",
)


def policy(c: Container, on: date | None = None) -> ChronicPolicy:
    pol: ChronicPolicy = template.policy(c, SPEC, on)
    return pol


def disease(pol: ChronicPolicy, code: str) -> ChronicDisease:
    found = pol.diseases.get(code)
    if found is None:
        raise InvalidInput(
            "病种编码无效，不在本地门诊慢特病病种目录中",
            code="DISEASE_UNKNOWN",
            field="disease_code",
        )
    return found


def case_disease(c: Container, case: Case) -> ChronicDisease:
    """The disease of an application, as the catalogue stood on the day it was submitted."""
    submitted = case.created_at.astimezone(CHINA_TZ).date()
    return disease(policy(c, submitted), (case.form or {})["disease_code"])
