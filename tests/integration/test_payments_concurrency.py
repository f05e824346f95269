# ruff: noqa: F811  (the paysim fixture is imported, then requested by name)
"""Exactly-once under concurrency, on PostgreSQL (real row locks): 50 concurrent duplicate
callbacks credit once; concurrent order requests for one person yield one open order."""

from __future__ import annotations

import asyncio

from backend.audit.models import AuditEntry
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.errors import Conflict
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.payments.models import (
    OpenOrderSlot,
    OrderStatus,
    PaymentNotification,
    PaymentOrder,
    PaymentReceipt,
)
from backend.payments.notify import handle_notification
from backend.payments.orders import create_order
from tests.payments_kit import (
    IN_PERIOD,
    at,
    family_citizen,
    paysim,  # noqa: F401  (fixture)
)


async def test_fifty_concurrent_duplicate_callbacks_credit_once(c, on_postgres, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    who = Principal(me.account.id, Role.CITIZEN, "s")
    order = (await create_order(c, who, year=2026, person_ids=ids, idempotency_key="k")).view
    await paysim.sim.pay(order["out_trade_no"], notify=False)
    trade = paysim.sim.book.orders[order["out_trade_no"]]
    body = paysim.sim.notification_body("TRANSACTION.SUCCESS", paysim.sim.transaction_json(trade))
    # Half are byte-identical copies, half re-signed deliveries of the same notification.
    same = paysim.sim.sign_headers(body)
    deliveries = [same if i % 2 else paysim.sim.sign_headers(body) for i in range(50)]
    answers = await asyncio.gather(*(handle_notification(c, h, body) for h in deliveries))
    assert [a.status for a in answers] == [204] * 50
    assert await AuditEntry.filter(action="payment.credit").count() == 1
    row = await PaymentOrder.get(id=order["id"])
    assert row.status is OrderStatus.PAID and row.version == 1
    assert await PaymentReceipt.filter(order_id=row.id).count() == 1
    assert await PaymentNotification.filter(out_trade_no=row.out_trade_no).count() == 1
    statuses = await Enrollment.filter(person_id__in=ids, year=2026).values_list(
        "status", flat=True
    )
    assert sorted(statuses) == [EnrollmentStatus.ENROLLED] * 3
    assert await OpenOrderSlot.all().count() == 0


async def test_concurrent_order_requests_make_one_open_order(c, on_postgres, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    who = Principal(me.account.id, Role.CITIZEN, "s")

    async def attempt(i: int) -> int | str:
        try:
            created = await create_order(
                c, who, year=2026, person_ids=ids[:2], idempotency_key=f"key-{i}"
            )
        except Conflict as exc:
            return exc.code
        return created.view["id"]

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert await PaymentOrder.all().count() == 1
    order_id = (await PaymentOrder.first()).id  # type: ignore[union-attr]
    # Everyone got the one order, or a retryable 409 while it was being created.
    assert all(r == order_id or r == "ORDER_BUSY" for r in results), results
    assert results.count(order_id) >= 1
    assert await OpenOrderSlot.all().count() == 2
