"""The pure engine: definitions, conditions, forms, materials and transition planning."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from backend.bootstrap import service_hooks
from backend.cases.checks import check_definitions
from config.policy import PolicyError, load_policies
from tests.workflow_definitions import TEST_CLAIM, TEST_CLAIM_V2
from workflows.conditions import ConditionError, evaluate, validate_condition
from workflows.definition import (
    CaseState,
    DefinitionError,
    Tolerance,
    facts_for,
    is_instant,
    missing_materials,
    required_review_levels,
)
from workflows.definitions import BUILTIN
from workflows.definitions.insurance_info_change import INSURANCE_INFO_CHANGE_V1 as INFO
from workflows.definitions.reimbursement import REIMBURSEMENT_V1
from workflows.engine import Facts, TransitionRefused, available_actions, plan, validate
from workflows.forms import FormProblem, clean_form
from workflows.registry import Registry, UnknownDefinition


def facts(state: CaseState, role: str = "reviewer", **kw) -> Facts:
    return Facts(state=state, channel="app", actor_id=kw.pop("actor_id", 7), actor_role=role, **kw)


def test_conditions():
    f = {"change_type": "phone", "amount": "5000.01", "$channel": "app"}
    assert evaluate({"field": "change_type", "in": ["phone", "address"]}, f)
    assert evaluate({"field": "amount", "gt": "5000"}, f)
    assert not evaluate({"field": "amount", "lte": "5000"}, f)
    assert evaluate(
        {"all": [{"field": "$channel", "eq": "app"}, {"not": {"field": "x", "present": True}}]}, f
    )
    assert not evaluate({"field": "missing", "gt": 1}, f)
    assert evaluate(None, f)
    for bad in (
        {},
        {"field": "a"},
        {"field": "a", "gt": "x"},
        {"all": []},
        {"field": "a", "eq": 1, "ne": 2},
    ):
        with pytest.raises(ConditionError):
            validate_condition(bad)


def test_forms_are_cleaned_and_unasked_fields_refused():
    assert clean_form(INFO, {"change_type": "phone", "new_phone": "13912345678"}, "app") == {
        "change_type": "phone",
        "new_phone": "13912345678",
    }
    with pytest.raises(FormProblem) as exc:
        clean_form(INFO, {"change_type": "phone", "new_phone": "139", "bank_account": "1"}, "app")
    fields = {p["field"] for p in exc.value.problems}
    assert fields == {"form.new_phone", "form.bank_account"}
    with pytest.raises(FormProblem):
        clean_form(INFO, {"change_type": "fax"}, "app")
    assert clean_form(TEST_CLAIM, {"amount": 12}, "app")["amount"] == "12.00"
    for bad in ("1.001", "-1", "abc", True, 1.5, "NaN"):
        with pytest.raises(FormProblem):
            clean_form(TEST_CLAIM, {"amount": bad}, "app")


def test_materials_depend_on_channel_and_change():
    bank = facts_for({"change_type": "bank_account"}, "station")
    key, other = missing_materials(INFO, bank, {"bank_card"})
    assert [m.key for m in key] == ["id_card"] and [m.key for m in other] == ["bank_confirmation"]
    phone = facts_for({"change_type": "phone"}, "app")
    assert missing_materials(INFO, phone, set()) == ([], [])
    assert is_instant(INFO, phone, 0)
    assert not is_instant(INFO, bank, 0)


def test_review_levels_from_amount():
    assert required_review_levels(TEST_CLAIM, {"amount": "5000.00"}) == 1
    assert required_review_levels(TEST_CLAIM, {"amount": "5000.01"}) == 2
    assert required_review_levels(TEST_CLAIM_V2, {"amount": "9000"}) == 1
    assert required_review_levels(INFO, {"change_type": "bank_account"}) == 2


def test_plan_checks_role_state_and_guards():
    held = facts(CaseState.IN_REVIEW, task_holder_id=7, review_level=1, required_levels=1)
    assert plan(TEST_CLAIM, "approve", held).target is CaseState.APPROVED
    with pytest.raises(TransitionRefused) as exc:
        plan(TEST_CLAIM, "approve", replace(held, actor_role="citizen"))
    assert exc.value.kind == "role" and exc.value.forbidden
    with pytest.raises(TransitionRefused) as exc:
        plan(TEST_CLAIM, "approve", replace(held, state=CaseState.SUBMITTED))
    assert exc.value.code == "INVALID_STATE" and not exc.value.forbidden
    with pytest.raises(TransitionRefused) as exc:
        plan(TEST_CLAIM, "approve", replace(held, task_holder_id=8))
    assert exc.value.code == "TASK_NOT_HELD"
    with pytest.raises(TransitionRefused) as exc:
        plan(TEST_CLAIM, "approve", replace(held, required_levels=2))
    assert exc.value.code == "SECOND_REVIEW_REQUIRED"
    assert (
        plan(TEST_CLAIM, "approve_level", replace(held, required_levels=2)).target
        is CaseState.IN_REVIEW
    )
    with pytest.raises(TransitionRefused) as exc:
        plan(TEST_CLAIM, "nope", held)
    assert exc.value.kind == "unknown"


def test_four_eyes_excludes_first_reviewer_agent_and_applicant():
    second = facts(CaseState.IN_REVIEW, task_holder_id=7, review_level=2, required_levels=2)
    assert plan(TEST_CLAIM, "approve", second)
    for blocked in (
        replace(second, prior_reviewer_ids=frozenset({7})),
        replace(second, agent_account_id=7),
        replace(second, applicant_account_id=7),
    ):
        with pytest.raises(TransitionRefused) as exc:
            plan(TEST_CLAIM, "approve", blocked)
        assert exc.value.code == "FOUR_EYES" and exc.value.forbidden


def test_withdrawal_and_tolerance_guards():
    citizen = facts(CaseState.IN_REVIEW, "citizen", actor_acts_for_applicant=True)
    assert plan(TEST_CLAIM, "withdraw", citizen).target is CaseState.WITHDRAWN
    with pytest.raises(TransitionRefused):
        plan(TEST_CLAIM, "withdraw", replace(citizen, review_started=True))
    with pytest.raises(TransitionRefused):
        plan(TEST_CLAIM, "withdraw", replace(citizen, state=CaseState.ISSUED))
    from datetime import UTC, datetime, timedelta

    now = datetime(2025, 1, 2, tzinfo=UTC)
    sys = facts(CaseState.APPROVED, "system", open_gaps=1, tolerance_due_at=now, now=now)
    assert plan(TEST_CLAIM, "close_gaps_expired", sys).target is CaseState.CLOSED
    with pytest.raises(TransitionRefused):
        plan(TEST_CLAIM, "close_gaps_expired", replace(sys, now=now - timedelta(seconds=1)))
    with pytest.raises(TransitionRefused):
        plan(TEST_CLAIM, "issue", sys)
    assert "issue" in available_actions(TEST_CLAIM, replace(sys, open_gaps=0))


def test_definition_validation_names_definition_and_field():
    with pytest.raises(DefinitionError, match=r"test_claim v1: tolerance\.on_expiry"):
        validate(replace(TEST_CLAIM, tolerance=Tolerance(on_expiry="approve")))
    with pytest.raises(DefinitionError, match="unknown field"):
        validate(replace(TEST_CLAIM, instant={"field": "colour", "eq": "red"}))
    with pytest.raises(DefinitionError, match="amount_field"):
        validate(replace(TEST_CLAIM, amount_field="note"))
    bad_t = replace(TEST_CLAIM.transitions[0], guards=("telepathy",))
    with pytest.raises(DefinitionError, match="unknown guard"):
        validate(replace(TEST_CLAIM, transitions=(bad_t, *TEST_CLAIM.transitions[1:])))
    leaving_final = replace(TEST_CLAIM.transitions[0], sources=(CaseState.ISSUED,))
    with pytest.raises(DefinitionError, match="leaves final state"):
        validate(replace(TEST_CLAIM, transitions=(leaving_final, *TEST_CLAIM.transitions[1:])))


def test_registry_versions_and_immutability():
    reg = Registry()
    reg.register(TEST_CLAIM)
    reg.register(TEST_CLAIM_V2)
    assert reg.latest("test_claim").version == 2
    assert reg.get("test_claim", 1) is TEST_CLAIM
    with pytest.raises(DefinitionError, match="already registered"):
        reg.register(replace(TEST_CLAIM, name="改名"))
    with pytest.raises(UnknownDefinition):
        reg.get("test_claim", 9)


def test_real_definitions_resolve_their_time_limits():
    policies = load_policies()
    check_definitions(policies, Registry(BUILTIN), service_hooks())
    limits = policies.case_workflow.versions[0].time_limits
    assert limits["insurance_info_change"].amount == 5
    assert Decimal(TEST_CLAIM.fields[0].max_amount) == Decimal("1000000")
    missing = Registry([replace(INFO, code="no_limit_service")])
    with pytest.raises(PolicyError, match=r"time_limits\.no_limit_service"):
        check_definitions(policies, missing, service_hooks())


def test_a_service_whose_domain_registered_no_hooks_stops_start_up():
    orphan = Registry([*BUILTIN, replace(REIMBURSEMENT_V1, code="orphan_claim")])
    with pytest.raises(RuntimeError, match="service orphan_claim has no registered hooks"):
        check_definitions(load_policies(), orphan, service_hooks())
