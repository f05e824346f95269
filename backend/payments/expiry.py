"""Closing payment orders: here after the gateway closed them, and the expiry sweep that asks
the gateway about open orders past their time (查单) and credits or closes each."""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.container import Container
from backend.enrollment import premiums
from backend.identity.principal import Principal
from backend.payments import gateway as gw
from backend.payments.crediting import credit
from backend.payments.gateway import GatewayError
from backend.payments.models import OpenOrderSlot, OrderStatus, PaymentOrder
from backend.payments.refunds import retry_pending_refunds
from backend.payments.runtime import runtime

log = logging.getLogger("yibao.payments")


async def close_local(c: Container, order_id: int, *, reason: str, actor: Principal | None) -> bool:
    """Close an open order here (after the gateway closed it): frees the persons' slots."""
    now = c.clock.now()
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get_or_none(id=order_id)
        if order is None or order.status is not OrderStatus.OPEN:
            return False
        await PaymentOrder.filter(id=order.id, version=order.version).update(
            status=OrderStatus.CLOSED, version=order.version + 1, closed_at=now, updated_at=now
        )
        await premiums.release_unpaid(order.id, now)
        await OpenOrderSlot.filter(order_id=order.id).delete()
        await record(
            c,
            actor=actor,
            action="payment.order.close",
            subject_type="payment_order",
            subject_id=order.id,
            reason=reason,
        )
    return True


async def sync_order(
    c: Container, order: PaymentOrder, *, close_if_unpaid: bool, reason: str = "expired"
) -> str:
    """Ask the gateway about an open order (查单): credit it if paid; close it if asked to and
    it is unpaid. A query answer never overrides a state already reached (a late NOTPAY after
    a callback changes nothing: crediting and closing both start from "open")."""
    rt = runtime(c)
    try:
        tx = await rt.gateway.query(order.out_trade_no)
    except GatewayError:
        return "unknown"
    if tx is not None and tx.trade_state in (gw.SUCCESS, gw.REFUND):
        if tx.mchid != rt.mchid or tx.appid != rt.appid:
            log.error("query answer for order %s names another merchant", order.id)
            return "unknown"
        return (await credit(c, tx, notify_id=f"query:{order.out_trade_no}")).value
    if not close_if_unpaid or (tx is not None and tx.trade_state == gw.USERPAYING):
        return "open"
    if tx is not None and tx.trade_state != gw.CLOSED:
        try:
            await rt.gateway.close(order.out_trade_no)
        except GatewayError as exc:
            if exc.gateway_code == "ORDERPAID":  # paid between the query and the close
                return await sync_order(c, order, close_if_unpaid=False, reason=reason)
            log.warning("close of order %s failed: %s", order.id, exc.gateway_code)
            return "open"
    closed = await close_local(c, order.id, reason=reason, actor=None)
    return "closed" if closed else "unchanged"


async def supersede_station_orders(c: Container, person_ids: list[int], year: int) -> None:
    """The citizen's own order supersedes an open order a station clerk made for any of the
    same persons, so a clerk can never hold a person's slot against them: the clerk's order is
    closed at the gateway first (its code can no longer be paid), or credited if it was paid
    meanwhile (then the person is enrolled and the citizen's order is refused: one credit).
    An order being paid at this very moment (USERPAYING) stays open and keeps its slot."""
    held = await OpenOrderSlot.filter(person_id__in=person_ids, year=year).values_list(
        "order_id", flat=True
    )
    for order in await PaymentOrder.filter(
        id__in=list(set(held)), status=OrderStatus.OPEN, channel="station"
    ):
        await sync_order(c, order, close_if_unpaid=True, reason="superseded_by_own_order")


async def expire_orders(c: Container, *, batch: int = 200) -> int:
    """The expiry sweep: open orders past ``expires_at`` are queried at the gateway, credited
    if paid, otherwise closed there and here. Also resubmits refunds not yet accepted.
    Returns the number of orders closed. Safe to run concurrently (every change is locked)."""
    now = c.clock.now()
    due = (
        await PaymentOrder.filter(status=OrderStatus.OPEN, expires_at__lte=now)
        .order_by("id")
        .limit(batch)
    )
    closed = 0
    for order in due:
        try:
            if await sync_order(c, order, close_if_unpaid=True) == "closed":
                closed += 1
        except Exception:
            log.exception("expiry of order %s failed", order.id)
    await retry_pending_refunds(c)
    return closed
