"""Races on PostgreSQL: claims, decisions, withdrawal against a claim, concurrent sweepers."""

from __future__ import annotations

import asyncio

import pytest

from backend.cases import acceptance, applicant, review, submission, sweeper
from backend.cases.models import Case, CaseEvent, CaseTask, TaskStatus
from backend.errors import Conflict
from backend.identity.models import Role
from backend.identity.principal import Principal
from tests.case_helpers import FRIDAY, upload_documents
from tests.factories import make_citizen, make_staff

pytestmark = pytest.mark.usefixtures("on_postgres", "with_test_definitions")


def as_principal(login, *, categories=()) -> Principal:
    a = login.account
    return Principal(a.id, a.role, "test", a.station_id, tuple(categories or a.categories or ()))


async def _routed_case(c, amount: str = "1200.00"):
    citizen = await make_citizen(c, "race-citizen", name="赵小红")
    desk = await make_staff(c, Role.REVIEWER, "race-desk", categories=("front_desk",))
    case = await submission.submit(
        c,
        as_principal(citizen),
        submission.NewCase(
            "test_claim",
            {"amount": amount},
            await upload_documents(c, as_principal(citizen), ["invoice", "medical_record"]),
        ),
    )
    case = await acceptance.accept(
        c, as_principal(desk), case.id, version=case.version, outcome="accept"
    )
    task = await CaseTask.get(case_id=case.id, status=TaskStatus.OPEN)
    return citizen, case, task


async def _reviewers(c, n: int) -> list[Principal]:
    return [
        as_principal(
            await make_staff(c, Role.REVIEWER, f"race-rev-{i}", categories=("reimbursement",))
        )
        for i in range(n)
    ]


async def test_exactly_one_of_concurrent_claims_wins(c, clock):
    clock.set(FRIDAY)
    _, case, task = await _routed_case(c)
    reviewers = await _reviewers(c, 8)
    results = await asyncio.gather(
        *(review.claim(c, r, task.id) for r in reviewers), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(e, Conflict) and e.status == 409 for e in losers)
    stored = await CaseTask.get(id=task.id)
    assert stored.holder_id == winners[0].holder_id
    assert await CaseEvent.filter(case_id=case.id, action="claim").count() == 1


async def test_concurrent_decisions_take_effect_once(c, clock):
    clock.set(FRIDAY)
    _, case, task = await _routed_case(c)
    (reviewer,) = await _reviewers(c, 1)
    await review.claim(c, reviewer, task.id)
    fresh = await Case.get(id=case.id)
    decisions = ["approve", "reject", "approve", "return", "approve"]
    results = await asyncio.gather(
        *(
            review.decide(
                c,
                reviewer,
                task.id,
                case_version=fresh.version,
                decision=d,
                reason_code={"reject": "J01", "return": "S01"}.get(d),
            )
            for d in decisions
        ),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    final = await Case.get(id=case.id)
    assert final.state == ok[0].state
    decided = await CaseEvent.filter(
        case_id=case.id, action__in=["approve", "reject", "return_for_supplement"]
    ).count()
    assert decided == 1


async def test_withdrawal_racing_a_claim_has_one_winner(c, clock):
    clock.set(FRIDAY)
    citizen, case, task = await _routed_case(c)
    (reviewer,) = await _reviewers(c, 1)
    desk = as_principal(await make_staff(c, Role.REVIEWER, "desk-2", categories=("front_desk",)))
    for round_ in range(5):
        if round_:
            case = await submission.submit(
                c,
                as_principal(citizen),
                submission.NewCase(
                    "test_claim",
                    {"amount": "10"},
                    await upload_documents(c, as_principal(citizen), ["invoice", "medical_record"]),
                ),
            )
            case = await acceptance.accept(c, desk, case.id, version=case.version, outcome="accept")
            task = await CaseTask.get(case_id=case.id, status=TaskStatus.OPEN)
        results = await asyncio.gather(
            review.claim(c, reviewer, task.id),
            applicant.withdraw(c, as_principal(citizen), case.id, version=case.version),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1 and isinstance(failures[0], Conflict), results
        stored_case = await Case.get(id=case.id)
        stored_task = await CaseTask.get(id=task.id)
        if stored_case.state == "withdrawn":
            assert stored_task.status is TaskStatus.CANCELLED
        else:
            assert stored_task.status is TaskStatus.CLAIMED


async def test_concurrent_sweepers_do_no_double_work(c, clock):
    clock.set(FRIDAY)
    _, case, _ = await _routed_case(c)
    clock.advance(days=30)
    reports = await asyncio.gather(*(sweeper.sweep_unlocked(c) for _ in range(4)))
    assert sum(r.overdue for r in reports) == 1
    assert await CaseEvent.filter(case_id=case.id, action="sla_overdue").count() == 1
    locked = await asyncio.gather(*(sweeper.sweep(c) for _ in range(3)))
    assert sum(r.overdue for r in locked) == 0
