"""The shared vocabulary: every name that definitions, policy tables, services and demo data use
to refer to one another, defined once.

- ``SERVICES``: the service codes (服务事项). They are the process definitions' codes and the
  items a district may delegate to a station (下沉事项); ``enrollment`` has no case process.
- ``CATEGORIES``: the review categories. A definition routes its cases to one category queue
  (分类审核); ``front_desk`` is the district window's 综合受理 of what citizens submit from the
  app (a station's clerks accept what is filed at their own station).
- ``ROLES``: who acts (the values of ``backend.identity.models.Role``) plus the engine itself.
- ``OWNERS``: the domain that creates the cases of a service (cases of those services are not
  submitted through the generic case endpoint).
- ``MATERIALS``: the supporting documents a definition may ask for, by key; the policy tables
  (filing proofs, disease evidence) name them by the same keys.

``backend.vocabulary_check`` checks definitions, policy tables, roles, station items and the
demo data against these names at start-up.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# -- services ---------------------------------------------------------------------------------
INSURANCE_INFO_CHANGE: Final = "insurance_info_change"
ENROLLMENT: Final = "enrollment"
REMOTE_CARE_FILING: Final = "remote_care_filing"
CHRONIC_DISEASE: Final = "chronic_disease"
REIMBURSEMENT: Final = "reimbursement"

SERVICES: Final = MappingProxyType(
    {
        INSURANCE_INFO_CHANGE: "参保信息变更",
        ENROLLMENT: "参保登记与缴费",
        REMOTE_CARE_FILING: "异地就医备案",
        CHRONIC_DISEASE: "门诊慢特病资格认定",
        REIMBURSEMENT: "零星（手工）报销",
    }
)

# -- review categories --------------------------------------------------------------------------
FRONT_DESK: Final = "front_desk"
CAT_ENROLLMENT: Final = "enrollment"
CAT_REMOTE_CARE: Final = "remote_care"
CAT_CHRONIC: Final = "chronic"
CAT_REIMBURSEMENT: Final = "reimbursement"

CATEGORIES: Final = MappingProxyType(
    {
        FRONT_DESK: "综合受理（区医保服务中心窗口）",
        CAT_ENROLLMENT: "参保登记与参保信息变更",
        CAT_REMOTE_CARE: "异地就医",
        CAT_CHRONIC: "门诊慢特病",
        CAT_REIMBURSEMENT: "零星报销",
    }
)

# -- roles ------------------------------------------------------------------------------------
CITIZEN: Final = "citizen"
STATION_STAFF: Final = "station_staff"
REVIEWER: Final = "reviewer"
SUPERVISOR: Final = "supervisor"
FINANCE: Final = "finance"
ADMIN: Final = "admin"
SYSTEM: Final = "system"  # the engine: automatic decisions, the sweeper

ROLES: Final = MappingProxyType(
    {
        CITIZEN: "参保群众",
        STATION_STAFF: "服务站工作人员",
        REVIEWER: "审核人员",
        SUPERVISOR: "业务监督",
        FINANCE: "财务人员（报销汇款登记）",
        ADMIN: "系统管理员",
    }
)
ACTORS: Final = frozenset({*ROLES, SYSTEM})

# -- owners: the domain that creates a service's cases ----------------------------------------
OWNERS: Final = MappingProxyType(
    {
        REMOTE_CARE_FILING: "filings",
        CHRONIC_DISEASE: "chronic",
        REIMBURSEMENT: "backend.claims",
    }
)

# -- materials --------------------------------------------------------------------------------
MATERIALS: Final = MappingProxyType(
    {
        "id_card": "居民身份证或社会保障卡",
        "bank_card": "本人银行卡（存折）",
        "bank_confirmation": "开户银行账户信息确认单",
        "invoice": "医疗收费票据",
        "medical_record": "近期门诊病历或出院小结",
        "diagnosis_certificate": "二级及以上医院诊断证明书",
        "exam_report": "相关检查检验报告",
        "pathology_report": "病理诊断报告",
        "treatment_record": "透析、移植手术或放化疗记录",
        "resettlement_proof": "异地安置证明（户籍或居住证明）",
        "residence_proof": "异地居住证明（居住证等）",
        "work_proof": "异地工作证明（派驻证明或劳动合同）",
        "referral_document": "转出医院出具的转诊（转院）证明",
        "emergency_proof": "急诊诊断证明或急诊病历",
        "commitment_letter": "个人承诺书",
    }
)


class VocabularyError(ValueError):
    """A name that is not in the vocabulary; the message names the file and the value."""


def require(kind: str, value: str, where: str) -> str:
    """``value`` if it is a known name of ``kind``; else a :class:`VocabularyError`."""
    known = {
        "service": SERVICES,
        "category": CATEGORIES,
        "role": ACTORS,
        "material": MATERIALS,
    }[kind]
    if value not in known:
        raise VocabularyError(
            f"{where}: unknown {kind} {value!r} (known: {', '.join(sorted(known))})"
        )
    return value
