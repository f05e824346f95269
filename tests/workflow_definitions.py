"""Definitions used by the tests and the benchmark: every lifecycle path of the engine.

No process runs them: a test that uses them puts them on its container's registry (the
``with_test_definitions`` fixture), the benchmark on its own. ``TEST_CLAIM`` is a small
reimbursement-like service: an amount, a key invoice, a non-key medical record that may be 容缺,
a second review above 5000 yuan, a working-day limit that pauses during 补正 and 补充材料.
"""

from __future__ import annotations

from decimal import Decimal

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
from workflows.sla import ClockRule, LimitUnit, TimeLimit

TEST_CLAIM = Definition(
    code="test_claim",
    version=1,
    name="测试报销",
    category="reimbursement",
    item_code="reimbursement",
    fields=(
        FormField("amount", "申请金额", FieldType.MONEY, max_amount=Decimal("1000000")),
        FormField("note", "说明", FieldType.TEXT, required=False),
    ),
    materials=(
        Material("invoice", "医疗费用发票", is_key=True),
        Material("medical_record", "门诊病历", is_key=False),
    ),
    review_levels=(ReviewLevel(1), ReviewLevel(2, when={"field": "amount", "gt": "5000"})),
    tolerance=Tolerance(deadline_working_days=3, on_expiry="close_gaps_expired"),
    sla=SlaSpec(
        limit=TimeLimit(10, LimitUnit.WORKING_DAYS, warning_ratio=0.7),
        on_correction=ClockRule.PAUSE,
        on_supplement=ClockRule.PAUSE,
    ),
    amount_field="amount",
    issuance=Issuance("测试报销结果通知书", deliveries=(Delivery.APP, Delivery.MAIL)),
)

# The same service, published again without the second review: running cases stay on v1.
TEST_CLAIM_V2 = Definition(
    code="test_claim",
    version=2,
    name="测试报销",
    category="reimbursement",
    item_code="reimbursement",
    fields=TEST_CLAIM.fields,
    materials=TEST_CLAIM.materials,
    review_levels=(ReviewLevel(1),),
    tolerance=TEST_CLAIM.tolerance,
    sla=TEST_CLAIM.sla,
    amount_field="amount",
    issuance=TEST_CLAIM.issuance,
)

TEST_DEFINITIONS = (TEST_CLAIM,)
