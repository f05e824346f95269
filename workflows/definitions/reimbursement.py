"""零星（手工）报销: reimbursement of care a citizen paid out of pocket, from invoice photos.

- The claim (``backend.claims``) is prepared first: the citizen, or a station clerk for them,
  uploads the invoices and OCR reads them in the background. Submitting the claim creates this
  case with the claim number as its form and the invoices as the key material.
- Front-desk acceptance (综合受理) checks the photos are there and legible; the case is then
  routed to the reimbursement review queue (分类审核).
- A reviewer confirms the machine's reading of every invoice; the claim service then computes
  the payable amount and sets the required review levels: above the configured amount
  (``config/policy/reimbursement.yaml``) a second reviewer must approve (双人复核). Approval is
  guarded by ``service_ready``: it cannot fire while an invoice is unconfirmed or a blocking
  check (payer not the insured person, invoice outside the claim window) is open.
- Approval creates the disbursement with its due date (限期审核汇款到账); the time limit of the
  case itself is in ``config/policy/case_workflow.yaml``. During 补正 and 补充材料 the clock
  pauses (the citizen is retaking a photo; the bureau is not the one waiting).
"""

from __future__ import annotations

from dataclasses import replace

from workflows.definition import (
    STANDARD_TRANSITIONS,
    Definition,
    Delivery,
    FieldType,
    FormField,
    Issuance,
    Material,
    ReviewLevel,
    SlaSpec,
)
from workflows.sla import ClockRule
from workflows.vocabulary import CAT_REIMBURSEMENT, REIMBURSEMENT

_DECISIONS_NEEDING_READINESS = {"approve", "approve_level"}

_TRANSITIONS = tuple(
    replace(t, guards=(*t.guards, "service_ready")) if t.name in _DECISIONS_NEEDING_READINESS else t
    for t in STANDARD_TRANSITIONS
    if not t.name.startswith("instant_")
)

REIMBURSEMENT_V1 = Definition(
    code=REIMBURSEMENT,
    version=1,
    name="零星（手工）报销",
    category=CAT_REIMBURSEMENT,
    item_code=REIMBURSEMENT,
    fields=(
        FormField("claim_number", "报销申请编号", FieldType.TEXT, max_length=24),
        FormField("note", "情况说明", FieldType.TEXT, required=False, max_length=200),
    ),
    materials=(Material.of("invoice", is_key=True),),
    # Level 2 is set by the claim service from the computed amount (policy threshold).
    review_levels=(ReviewLevel(1),),
    sla=SlaSpec(on_correction=ClockRule.PAUSE, on_supplement=ClockRule.PAUSE),
    issuance=Issuance("零星报销审核结果通知书", deliveries=(Delivery.APP,)),
    transitions=_TRANSITIONS,
)
