"""门诊慢特病资格认定: qualification for outpatient chronic or special-disease benefits.

- The disease catalogue is policy (``config/policy/chronic.yaml``): the evidence each disease
  needs, its assessment criteria, fast track, validity and number of designated institutions.
  The chronic domain (``backend.chronic``) checks the submission against the disease in force
  and derives the facts below; the citizen cannot submit them.
- Fast track (``$fast_track``): a malignant tumour, chronic renal failure on dialysis or an
  organ transplant, diagnosed by a hospital of the required level with the clear diagnosis
  document (pathology, dialysis or transplant record), is approved on the spot without expert
  review when every material is there.
- The others go to the chronic expert-review queue, where the reviewer records a verdict per
  criterion (``backend.chronic.review.assess``) before approving or rejecting.
- 容缺受理: the recent medical record is non-key; it may follow within the 容缺 deadline (the
  case is closed if it does not arrive). Evidence that proves the disease is key.
- On issuance the domain records the qualification with its validity and institutions.
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
    Tolerance,
)
from workflows.vocabulary import CAT_CHRONIC, CHRONIC_DISEASE

_IN_PERSON = {"field": "$channel", "in": ["station", "window"]}


def _needs(key: str) -> dict[str, object]:
    return {"field": f"$need_{key}", "eq": True}


# (material key, is key): the evidence a disease of the catalogue may ask for
EVIDENCE = (
    ("medical_record", False),
    ("exam_report", True),
    ("pathology_report", True),
    ("treatment_record", True),
)

CHRONIC_DISEASE_V1 = Definition(
    code=CHRONIC_DISEASE,
    version=1,
    name="门诊慢特病资格认定",
    category=CAT_CHRONIC,
    item_code=CHRONIC_DISEASE,
    fields=(
        FormField("disease_code", "病种编码", FieldType.TEXT, max_length=10),
        FormField("diagnosis_date", "确诊日期", FieldType.DATE),
        FormField("diagnosis_hospital", "诊断医院", FieldType.TEXT, max_length=100),
        FormField(
            "diagnosis_hospital_level", "诊断医院等级", FieldType.CHOICE, choices=("1", "2", "3")
        ),
        FormField("designated_institutions", "选定的定点医疗机构", FieldType.TEXT, max_length=300),
        FormField(
            "renews_qualification", "续期的原资格", FieldType.TEXT, required=False, max_length=20
        ),
        FormField("note", "备注", FieldType.TEXT, required=False, max_length=200),
    ),
    materials=(
        Material.of("id_card", is_key=True, when=_IN_PERSON),
        Material.of("diagnosis_certificate", is_key=True),
        *(Material.of(key, is_key=is_key, when=_needs(key)) for key, is_key in EVIDENCE),
    ),
    derived=(
        "$fast_track",
        "$disease_category",
        *(f"$need_{key}" for key, _ in EVIDENCE),
    ),
    instant={"field": "$fast_track", "eq": True},
    review_levels=(ReviewLevel(1),),
    tolerance=Tolerance(on_expiry="close_gaps_expired"),
    issuance=Issuance("门诊慢特病待遇资格认定通知书", deliveries=(Delivery.APP, Delivery.STATION)),
)
