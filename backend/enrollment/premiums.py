"""The writes a premium payment makes on a person's enrollment for a year, owned here: an open
order holds the person-years, crediting enrolls them, closing the order or refunding a person
releases them. Every write bumps the row's version; the callers run these inside their own
transaction (the payment order and the enrollment change commit together)."""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import F

from backend.audit.service import record
from backend.container import Container
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.enrollment.service import Quote
from backend.identity.principal import Principal


async def lock_person_years(rows: list[Enrollment]) -> dict[int, Enrollment]:
    """Lock the person-year rows in id order (no deadlock between overlapping orders); the
    locked rows by person id."""
    locked = await Enrollment.select_for_update().filter(id__in=[r.id for r in rows]).order_by("id")
    return {e.person_id: e for e in locked}


async def enroll_subsidised(
    c: Container, principal: Principal, row: Enrollment, quote: Quote, now: datetime
) -> None:
    """A fully subsidised person (特困人员) is enrolled without payment."""
    await Enrollment.filter(id=row.id).update(
        status=EnrollmentStatus.ENROLLED,
        contribution_fen=quote.contribution_fen,
        subsidy_category=quote.category,
        subsidy_fen=quote.subsidy_fen,
        due_fen=0,
        channel="subsidy",
        enrolled_at=now,
        updated_at=now,
        version=F("version") + 1,
    )
    await record(
        c,
        actor=principal,
        action="enrollment.enroll.subsidised",
        subject_type="person",
        subject_id=quote.person_id,
        data={"year": quote.year, "category": quote.category},
    )


async def hold_for_order(
    row: Enrollment, order_id: int, quote: Quote, channel: str, now: datetime
) -> None:
    """The person-year waits for the payment of ``order_id`` at the quoted premium."""
    await Enrollment.filter(id=row.id).update(
        status=EnrollmentStatus.PENDING_PAYMENT,
        order_id=order_id,
        contribution_fen=quote.contribution_fen,
        subsidy_category=quote.category,
        subsidy_fen=quote.subsidy_fen,
        due_fen=quote.due_fen,
        channel=channel,
        updated_at=now,
        version=F("version") + 1,
    )


async def enroll_paid(order_id: int, paid_at: datetime, now: datetime) -> int:
    """The order is paid: the person-years waiting for it are enrolled. How many were."""
    return await Enrollment.filter(
        order_id=order_id, status=EnrollmentStatus.PENDING_PAYMENT
    ).update(
        status=EnrollmentStatus.ENROLLED,
        enrolled_at=paid_at,
        updated_at=now,
        version=F("version") + 1,
    )


async def release_unpaid(order_id: int, now: datetime) -> int:
    """The order was closed unpaid: its person-years are free for another order."""
    return await Enrollment.filter(
        order_id=order_id, status=EnrollmentStatus.PENDING_PAYMENT
    ).update(
        status=EnrollmentStatus.NOT_ENROLLED,
        order_id=None,
        updated_at=now,
        version=F("version") + 1,
    )


async def revert_refunded(order_id: int, person_ids: list[int], now: datetime) -> int:
    """Persons refunded from a paid order are no longer enrolled. How many were reverted."""
    return await Enrollment.filter(
        order_id=order_id, person_id__in=person_ids, status=EnrollmentStatus.ENROLLED
    ).update(
        status=EnrollmentStatus.NOT_ENROLLED,
        order_id=None,
        enrolled_at=None,
        channel=None,
        updated_at=now,
        version=F("version") + 1,
    )
