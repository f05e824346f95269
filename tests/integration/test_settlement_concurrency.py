"""Two claims of one person approved at the same moment, on PostgreSQL (real row locks): the
person-year row is locked by each approval, so the second sees the first's payments and the
大病保险 threshold is crossed once, by whichever is settled second. Once through the review API,
once through the approval's own settle-and-add step alone (which does not lean on any other
lock the decision transaction happens to take)."""
# ruff: noqa: F811  (the api, ppl and reader fixtures are imported, then requested by name)

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from backend.claims import assessment
from backend.claims.models import Claim, Disbursement, SettlementYear
from tests.claim_helpers import (
    decide,
    in_review_confirmed,
    ppl,  # noqa: F401  (fixture)
    reader,  # noqa: F401  (fixture)
    receipt_values,
)


async def _two_stays(api, ppl, c, reader) -> list[tuple[dict, dict, dict]]:
    """Two claims in review, each one stay of 30000.00 at a tertiary hospital: basic
    (30000 − 1000) × 65 % = 18850.00, left 11150.00 — under the 15000.00 threshold alone,
    7300.00 above it together (× 60 % = 4380.00)."""
    out = []
    for n in range(2):
        values = receipt_values(
            visit_type="inpatient", total_amount="30000.00", invoice_number=f"00900000{n}"
        )
        review, case, task = await in_review_confirmed(
            api, ppl, c, reader, 80 + n, values, institution_level="tertiary"
        )
        assert review["calculation"]["payable_fen"] == 1_885_000  # alone: no 大病保险
        out.append((review, case, task))
    return out


async def _year_is_both(person_id: int) -> None:
    year = await SettlementYear.get(person_id=person_id, year=2025)
    assert year.basic_paid_fen == 3_770_000
    assert year.catastrophic_base_fen == 2_230_000
    assert year.catastrophic_paid_fen == 438_000
    assert year.in_range_fen == 6_000_000


async def test_concurrent_approvals_of_one_persons_claims(api, ppl, c, reader, on_postgres):
    claims = []
    for review, case, task in await _two_stays(api, ppl, c, reader):
        first = await decide(api, ppl.reviewer, task, case["id"])  # over 5000.00: two levels
        assert first["state"] == "in_review" and first["review_level"] == 2
        task2 = await api.open_task(case["id"], ppl.reviewer2)
        await api.post(f"/review/tasks/{task2['id']}/claim", ppl.reviewer2)
        claims.append((review["id"], case, task2))

    done = await asyncio.gather(
        *(decide(api, ppl.reviewer2, task, case["id"]) for _, case, task in claims)
    )
    assert [d["state"] for d in done] == ["issued", "issued"]

    ids = [claim_id for claim_id, _, _ in claims]
    paid = sorted(await Disbursement.filter(claim_id__in=ids).values_list("amount_fen", flat=True))
    assert paid == [1_885_000, 1_885_000 + 438_000]  # the second one crossed the threshold
    await _year_is_both(ppl.citizen.person.id)


async def test_concurrent_settle_and_add_steps_see_each_other(api, ppl, c, reader, on_postgres):
    claim_ids = [review["id"] for review, _, _ in await _two_stays(api, ppl, c, reader)]
    # the year's row is there already (an earlier claim of that year, nothing in range)
    await SettlementYear.create(
        person_id=ppl.citizen.person.id, year=2025, updated_at=c.clock.now()
    )

    async def approve_step(claim_id: int) -> int:
        async with in_transaction():
            claim = await Claim.get(id=claim_id)
            result = await assessment.settlement_for(c, claim, lock=True)
            assert result is not None
            await assessment.add_to_years(c, claim.person_id, result)
            return result.payable_fen

    paid = sorted(await asyncio.gather(*(approve_step(i) for i in claim_ids)))
    assert paid == [1_885_000, 1_885_000 + 438_000]
    await _year_is_both(ppl.citizen.person.id)
