"""One vocabulary: the demo staff can carry every case to its end, and a name that is not in
the vocabulary stops start-up with the file and the value."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend import demo
from backend.bootstrap import service_hooks
from backend.cases.checks import check_definitions
from backend.identity.models import Role
from backend.vocabulary_check import check_demo, check_vocabulary
from config.policy import load_policies
from workflows.definition import Channel, Definition, DefinitionError
from workflows.definitions import BUILTIN
from workflows.engine import validate
from workflows.registry import Registry
from workflows.vocabulary import CATEGORIES, FRONT_DESK, REIMBURSEMENT, VocabularyError

POLICIES = load_policies()


def _reviewers(category: str) -> list[str]:
    return [u for u, _, role, _, cats in demo.STAFF if role is Role.REVIEWER and category in cats]


def _levels(defn: Definition) -> int:
    # The reimbursement domain adds a second level above the policy threshold.
    return 2 if defn.code == REIMBURSEMENT else max(r.level for r in defn.review_levels)


@pytest.mark.parametrize("defn", BUILTIN, ids=lambda d: d.code)
def test_every_routed_category_has_enough_demo_reviewers(defn: Definition) -> None:
    reviewers = _reviewers(defn.category)
    assert len(reviewers) >= _levels(defn), (defn.code, defn.category, reviewers)


@pytest.mark.parametrize("defn", BUILTIN, ids=lambda d: d.code)
def test_every_acceptance_step_has_someone_who_may_perform_it(defn: Definition) -> None:
    accept = defn.transition("accept")
    assert accept is not None
    if Channel.APP in defn.channels:  # app submissions: the district front desk
        assert Role.REVIEWER in accept.roles and _reviewers(FRONT_DESK)
    if Channel.STATION in defn.channels:  # filed at a station: a clerk of that station
        clerk_stations = {s for _, _, role, s, _ in demo.STAFF if role is Role.STATION_STAFF}
        delegated = [
            code
            for code, _, _, _, items in demo.STATIONS
            if code in clerk_stations and defn.delegation_item in items
        ]
        assert Role.STATION_STAFF in accept.roles and delegated, defn.code


def test_demo_has_finance_supervisor_and_every_category() -> None:
    roles = {role for _, _, role, _, _ in demo.STAFF}
    assert {Role.FINANCE, Role.SUPERVISOR, Role.ADMIN, Role.STATION_STAFF} <= roles
    supervisor = next(cats for u, _, _, _, cats in demo.STAFF if u == "supervisor")
    assert set(supervisor) == set(CATEGORIES)


def test_shipped_names_pass_the_start_up_check() -> None:
    check_definitions(POLICIES, Registry(BUILTIN), service_hooks())
    check_demo(demo.STATIONS, demo.STAFF)


def test_a_demo_category_outside_the_vocabulary_stops_start_up() -> None:
    staff = [*demo.STAFF, ("reviewer_x", "审核员", Role.REVIEWER, None, ["chronic_disease"])]
    with pytest.raises(
        VocabularyError, match=r"backend/demo/cast.py.*reviewer_x.*'chronic_disease'"
    ):
        check_demo(demo.STATIONS, staff)


def test_a_policy_time_limit_for_an_unknown_service_stops_start_up() -> None:
    version = POLICIES.case_workflow.versions[0]
    limits = {**version.time_limits, "chronic": version.time_limits["chronic_disease"]}
    table = replace(
        POLICIES.case_workflow, versions=(version.model_copy(update={"time_limits": limits}),)
    )
    with pytest.raises(VocabularyError, match=r"case_workflow.yaml.*'chronic'"):
        check_vocabulary(replace(POLICIES, case_workflow=table), service_hooks().owners())


def test_a_definition_routing_to_an_unknown_category_is_refused() -> None:
    bad = replace(BUILTIN[0], version=99, category="insurance_info")
    with pytest.raises(DefinitionError, match="insurance_info"):
        validate(bad)


def test_an_owner_that_differs_from_the_vocabulary_stops_start_up() -> None:
    owners = {**service_hooks().owners(), "remote_care_filing": "remote"}
    with pytest.raises(VocabularyError, match="remote_care_filing"):
        check_vocabulary(POLICIES, owners)
