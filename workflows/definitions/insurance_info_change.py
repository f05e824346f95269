"""参保信息变更: change of a person's contact phone, address or payout bank account.

- Phone and address changes of a real-name-verified citizen are decided on the spot
  (即受即办): nothing for a reviewer to judge.
- A payout bank account change moves money: it needs the bank card, goes to the enrollment
  (参保登记) review queue and needs a second reviewer (双人复核), because a fraudulent account
  change diverts benefits. The bank's account confirmation is non-key: it may be supplied
  later (容缺受理), and the case is closed if it does not arrive in time.
- At a station or window the applicant's ID card is a key material; in the app the real-name
  binding stands for it.
- The time limit is in ``config/policy/case_workflow.yaml``; during 补正 the clock restarts
  (the resubmission is a new application), during 补充材料 it pauses.
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
    SlaSpec,
    Tolerance,
)
from workflows.sla import ClockRule
from workflows.vocabulary import CAT_ENROLLMENT, INSURANCE_INFO_CHANGE

_BANK = {"field": "change_type", "eq": "bank_account"}
_IN_PERSON = {"field": "$channel", "in": ["station", "window"]}

INSURANCE_INFO_CHANGE_V1 = Definition(
    code=INSURANCE_INFO_CHANGE,
    version=1,
    name="参保信息变更",
    category=CAT_ENROLLMENT,
    item_code=INSURANCE_INFO_CHANGE,
    fields=(
        FormField(
            "change_type",
            "变更事项",
            FieldType.CHOICE,
            choices=("phone", "address", "bank_account"),
        ),
        FormField(
            "new_phone", "新联系电话", FieldType.PHONE, when={"field": "change_type", "eq": "phone"}
        ),
        FormField(
            "new_address",
            "新联系地址",
            FieldType.ADDRESS,
            max_length=120,
            when={"field": "change_type", "eq": "address"},
        ),
        FormField("bank_name", "开户银行", FieldType.TEXT, max_length=60, when=_BANK),
        FormField("bank_account", "银行账号", FieldType.BANK_ACCOUNT, when=_BANK),
        FormField("note", "变更说明", FieldType.TEXT, required=False, max_length=200),
    ),
    materials=(
        Material.of("id_card", is_key=True, when=_IN_PERSON),
        Material.of("bank_card", is_key=True, when=_BANK),
        Material.of("bank_confirmation", is_key=False, when=_BANK),
    ),
    instant={"field": "change_type", "in": ["phone", "address"]},
    review_levels=(ReviewLevel(1), ReviewLevel(2, when=_BANK)),
    tolerance=Tolerance(on_expiry="close_gaps_expired"),
    sla=SlaSpec(on_correction=ClockRule.RESTART, on_supplement=ClockRule.PAUSE),
    issuance=Issuance(
        "参保信息变更确认书", deliveries=(Delivery.APP, Delivery.STATION, Delivery.MAIL)
    ),
)
