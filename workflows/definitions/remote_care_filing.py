"""异地就医备案: a citizen declares care elsewhere so that it is reimbursed at the right rate.

- The filing types and their rules are policy (``config/policy/remote_care.yaml``): which proofs
  each type needs, whether a personal commitment letter (个人承诺书, 承诺制) may replace them,
  validity, 补备案, and whether the type is reviewed. The filing domain
  (``backend.filings``) checks a submission against the type in force and derives the facts
  below; the citizen cannot submit them.
- A filing that satisfies the rules is approved on the spot (即受即办, ``$instant``). A referral
  (异地转诊) needs the referring hospital's document and goes to the remote-care review queue.
- No 容缺: a filing without its proof would give a reimbursement rate it has not earned.
- On issuance the domain records the filing (one active filing per person and category).
"""

from __future__ import annotations

from workflows.definition import (
    Definition,
    Delivery,
    FieldType,
    FormField,
    Issuance,
    Material,
    ReviewLevel,
)
from workflows.vocabulary import CAT_REMOTE_CARE, REMOTE_CARE_FILING

_IN_PERSON = {"field": "$channel", "in": ["station", "window"]}


def _needs(key: str) -> dict[str, object]:
    return {"field": f"$need_{key}", "eq": True}


# The material keys a filing type may ask for (config/policy/remote_care.yaml names them)
PROOFS = (
    "resettlement_proof",
    "residence_proof",
    "work_proof",
    "referral_document",
    "emergency_proof",
    "commitment_letter",
)

REMOTE_CARE_FILING_V1 = Definition(
    code=REMOTE_CARE_FILING,
    version=1,
    name="异地就医备案",
    category=CAT_REMOTE_CARE,
    item_code=REMOTE_CARE_FILING,
    fields=(
        FormField("filing_type", "备案类型", FieldType.TEXT, max_length=32),
        FormField("province_code", "就医地省份代码", FieldType.TEXT, max_length=6),
        FormField("city_code", "就医地城市代码", FieldType.TEXT, max_length=6),
        FormField("start_date", "备案开始日期", FieldType.DATE),
        FormField(
            "destination_hospital", "就医医院", FieldType.TEXT, required=False, max_length=100
        ),
        FormField("diagnosis", "疾病诊断", FieldType.TEXT, required=False, max_length=100),
        FormField(
            "use_commitment",
            "以个人承诺书代替证明材料",
            FieldType.CHOICE,
            required=False,
            choices=("yes", "no"),
        ),
        FormField("contact_phone", "联系电话", FieldType.PHONE, required=False),
        FormField("replaces_filing", "变更的原备案", FieldType.TEXT, required=False, max_length=20),
        FormField(
            "change_reason",
            "变更原因",
            FieldType.TEXT,
            max_length=200,
            when={"field": "replaces_filing", "present": True},
        ),
        FormField("note", "备注", FieldType.TEXT, required=False, max_length=200),
    ),
    materials=(
        Material.of("id_card", is_key=True, when=_IN_PERSON),
        *(Material.of(key, is_key=True, when=_needs(key)) for key in PROOFS),
    ),
    derived=(
        "$instant",
        "$category",
        *(f"$need_{key}" for key in PROOFS),
    ),
    instant={"field": "$instant", "eq": True},
    review_levels=(ReviewLevel(1),),
    issuance=Issuance("异地就医备案凭证", deliveries=(Delivery.APP, Delivery.STATION)),
)
