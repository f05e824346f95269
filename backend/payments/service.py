"""Payment orders: creation (idempotent, one open order per person and year), crediting
exactly once, closing, and the expiry sweep.

Crediting (:func:`credit`) is the one place an order becomes paid. It runs in one transaction
that locks the order row (``SELECT … FOR UPDATE``), compare-and-sets its (status, version),
enrolls the persons, frees their open-order slots, issues the receipt, stores the notification
and appends the audit entry; a duplicate (sequential or concurrent) waits for the lock, then sees
the order paid with the same transaction id and changes nothing. Callers answer the gateway
only after it returns, i.e. after the commit.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import CHINA_TZ, iso
from backend.container import Container
from backend.enrollment import service as enrollment
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.enrollment.service import AlreadyEnrolled, yuan
from backend.errors import Conflict, NotFound
from backend.identity.models import Account, Role
from backend.identity.persons import person_view
from backend.identity.principal import Principal
from backend.payments import gateway as gw
from backend.payments.gateway import GatewayError, Transaction
from backend.payments.models import (
    OpenOrderSlot,
    OrderStatus,
    PaymentNotification,
    PaymentOrder,
    PaymentOrderItem,
    PaymentReceipt,
    PaymentRefund,
    RefundStatus,
)
from backend.payments.receipts import issue_receipt
from backend.payments.runtime import runtime
from backend.stations.scope import ALL_STATIONS

log = logging.getLogger("yibao.payments")


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    message = "未找到该缴费订单"


class OrderAlreadyOpen(Conflict):
    code = "ORDER_ALREADY_OPEN"
    message = "所选人员已有待支付的缴费订单，请先完成或取消该订单"


def new_trade_no(now: datetime) -> str:
    return f"YB{now.astimezone(CHINA_TZ):%Y%m%d}{secrets.token_hex(6).upper()}"


def _iso(moment: datetime | None) -> str | None:
    return iso(moment)


# -- views ---------------------------------------------------------------------------------


async def order_view(c: Container, order: PaymentOrder, *, staff: bool = False) -> dict[str, Any]:
    items = (
        await PaymentOrderItem.filter(order_id=order.id).order_by("id").prefetch_related("person")
    )
    view: dict[str, Any] = {
        "id": order.id,
        "out_trade_no": order.out_trade_no,
        "year": order.year,
        "status": OrderStatus(order.status).value,
        "total_fen": order.total_fen,
        "total_yuan": yuan(order.total_fen),
        "refunded_fen": order.refunded_fen,
        "channel": order.channel,
        "created_at": _iso(order.created_at),
        "expires_at": _iso(order.expires_at),
        "paid_at": _iso(order.paid_at),
        "items": [
            {
                "person": person_view(c, item.person),
                "contribution_fen": item.contribution_fen,
                "subsidy_category": item.subsidy_category,
                "subsidy_fen": item.subsidy_fen,
                "due_fen": item.due_fen,
                "refunded": item.refund_id is not None,  # type: ignore[attr-defined]
            }
            for item in items
        ],
        "payment": None,
        "receipt": None,
    }
    if order.status is OrderStatus.OPEN:
        if order.pay_method == "jsapi" and order.prepay_id:
            view["payment"] = {
                "method": "jsapi",
                "pay_params": runtime(c).gateway.pay_params(order.prepay_id),
            }
        elif order.code_url:
            view["payment"] = {"method": "native", "code_url": order.code_url}
    receipt = await PaymentReceipt.get_or_none(order_id=order.id)
    if receipt is not None:
        view["receipt"] = {
            "number": receipt.number,
            "verification_code": receipt.verification_code,
            "voided": receipt.voided_at is not None,
        }
    if staff:
        view["needs_review"] = order.needs_review
        view["review_reason"] = order.review_reason
    return view


# -- creation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    view: dict[str, Any]
    created: bool  # False: an existing open order (same key, or same persons) was returned


async def _payer(principal: Principal) -> tuple[str, str | None, int | None]:
    """(channel, openid, payer person id) of the caller."""
    account = await Account.get(id=principal.account_id)
    if principal.role is Role.CITIZEN:
        return "app", account.openid, account.person_id  # type: ignore[attr-defined]
    return "station", None, None


async def _visible(principal: Principal, order: PaymentOrder) -> bool:
    """The citizen who made it; the clerks of the station where it was made; supervisors and
    admins. Anyone else gets the same 404 as for a missing order."""
    if principal.role is Role.CITIZEN:
        return order.created_by_id == principal.account_id  # type: ignore[attr-defined]
    if principal.role is Role.STATION_STAFF:
        return principal.station_id is not None and order.station_id == principal.station_id
    return principal.role in ALL_STATIONS


async def _existing_for_key(principal: Principal, key: str) -> PaymentOrder | None:
    return await PaymentOrder.get_or_none(created_by_id=principal.account_id, idempotency_key=key)


async def _same_request(order: PaymentOrder, year: int, person_ids: list[int]) -> bool:
    ids = await PaymentOrderItem.filter(order_id=order.id).values_list("person_id", flat=True)
    return order.year == year and sorted(ids) == sorted(set(person_ids))


async def _reuse(
    c: Container, principal: Principal, order: PaymentOrder, year: int, person_ids: list[int]
) -> Created:
    """An open order that matches the request is the answer; anything else is a 409."""
    if not await _same_request(order, year, person_ids):
        raise OrderAlreadyOpen(order_id=order.id if await _visible(principal, order) else None)
    if not await _visible(principal, order):
        raise OrderAlreadyOpen(order_id=None)
    if order.status is OrderStatus.OPEN:
        await ensure_prepay(c, order)
    return Created(await order_view(c, order, staff=principal.is_staff()), created=False)


async def create_order(
    c: Container,
    principal: Principal,
    *,
    year: int,
    person_ids: list[int],
    idempotency_key: str | None,
) -> Created:
    """Create (or return) the open order paying ``year``'s premium for ``person_ids``.

    Domain-level idempotency, independent of the HTTP layer: the same Idempotency-Key of the
    same caller returns the same order (a different request with it is a 409), and a person
    with an open order for the year yields that order (same persons) or a 409.
    """
    if idempotency_key:
        existing = await _existing_for_key(principal, idempotency_key)
        if existing is not None:
            if not await _same_request(existing, year, person_ids):
                raise Conflict("该幂等键已用于另一笔不同的请求", code="IDEMPOTENCY_KEY_REUSED")
            if existing.status is OrderStatus.OPEN:
                await ensure_prepay(c, existing)
            return Created(await order_view(c, existing, staff=principal.is_staff()), False)
    persons = await enrollment.persons_for(c, principal, person_ids)
    ids = [p.id for p in persons]
    if principal.role is Role.CITIZEN:
        await _supersede_station_orders(c, ids, year)
    for person in persons:
        enrollment.check_window(c, person, year)
    quotes = {p.id: await enrollment.quote(c, p, year) for p in persons}
    channel, openid, payer_person_id = await _payer(principal)
    rows = await enrollment.ensure_rows(ids, year)
    rt = runtime(c)
    now = c.clock.now()
    try:
        async with in_transaction():
            # Lock the person-year rows in id order (no deadlock between overlapping orders).
            locked = (
                await Enrollment.select_for_update()
                .filter(id__in=[r.id for r in rows])
                .order_by("id")
            )
            by_person = {e.person_id: e for e in locked}  # type: ignore[attr-defined]
            open_orders: set[int] = set()
            for pid in ids:
                row = by_person[pid]
                if row.status is EnrollmentStatus.ENROLLED:
                    raise AlreadyEnrolled(person_id=pid)
                if row.status is EnrollmentStatus.PENDING_PAYMENT and row.order_id:  # type: ignore[attr-defined]
                    open_orders.add(row.order_id)  # type: ignore[attr-defined]
            if open_orders:
                reuse_id = next(iter(open_orders)) if len(open_orders) == 1 else None
            else:
                reuse_id = None
                payable = [p for p in persons if quotes[p.id].due_fen > 0]
                free = [p for p in persons if quotes[p.id].due_fen == 0]
                for person in free:  # fully subsidised (特困人员): enrolled without payment
                    q = quotes[person.id]
                    await Enrollment.filter(id=by_person[person.id].id).update(
                        status=EnrollmentStatus.ENROLLED,
                        contribution_fen=q.contribution_fen,
                        subsidy_category=q.category,
                        subsidy_fen=q.subsidy_fen,
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
                        subject_id=person.id,
                        data={"year": year, "category": q.category},
                    )
                order = None
                if payable:
                    total = sum(quotes[p.id].due_fen for p in payable)
                    order = await PaymentOrder.create(
                        out_trade_no=new_trade_no(now),
                        year=year,
                        status=OrderStatus.OPEN,
                        total_fen=total,
                        description=f"{year}年度城乡居民医保缴费（{len(payable)}人）",
                        created_by_id=principal.account_id,
                        payer_person_id=payer_person_id,
                        channel=channel,
                        station_id=principal.station_id,
                        idempotency_key=idempotency_key,
                        pay_method="jsapi" if openid else "native",
                        openid=openid,
                        expires_at=now + timedelta(seconds=rt.order_ttl_s),
                        created_at=now,
                        updated_at=now,
                    )
                    for person in payable:
                        q = quotes[person.id]
                        row = by_person[person.id]
                        await OpenOrderSlot.create(person_id=person.id, year=year, order=order)
                        await PaymentOrderItem.create(
                            order=order,
                            person_id=person.id,
                            enrollment_id=row.id,
                            contribution_fen=q.contribution_fen,
                            subsidy_category=q.category,
                            subsidy_fen=q.subsidy_fen,
                            due_fen=q.due_fen,
                        )
                        await Enrollment.filter(id=row.id).update(
                            status=EnrollmentStatus.PENDING_PAYMENT,
                            order_id=order.id,
                            contribution_fen=q.contribution_fen,
                            subsidy_category=q.category,
                            subsidy_fen=q.subsidy_fen,
                            due_fen=q.due_fen,
                            channel=channel,
                            updated_at=now,
                            version=F("version") + 1,
                        )
                    await record(
                        c,
                        actor=principal,
                        action="payment.order.create",
                        subject_type="payment_order",
                        subject_id=order.id,
                        data={"year": year, "persons": [p.id for p in payable], "total_fen": total},
                    )
    except IntegrityError:
        # A concurrent request won the slot or the key: answer with its order.
        if idempotency_key and (again := await _existing_for_key(principal, idempotency_key)):
            return await _reuse(c, principal, again, year, person_ids)
        slot = await OpenOrderSlot.filter(person_id__in=ids, year=year).first()
        if slot is None:
            raise Conflict("订单正在创建中，请稍后重试", code="ORDER_BUSY") from None
        return await _reuse(
            c,
            principal,
            await PaymentOrder.get(id=slot.order_id),
            year,
            person_ids,  # type: ignore[attr-defined]
        )
    if reuse_id is not None or open_orders:
        if reuse_id is None:
            raise OrderAlreadyOpen(order_id=None)
        return await _reuse(c, principal, await PaymentOrder.get(id=reuse_id), year, person_ids)
    if order is None:  # everyone fully subsidised
        return Created(
            {
                "order": None,
                "enrolled_without_payment": [
                    await enrollment.person_status(c, p, year) for p in persons
                ],
            },
            created=True,
        )
    await ensure_prepay(c, order)
    view = await order_view(c, order, staff=principal.is_staff())
    if len(payable) != len(persons):
        view["enrolled_without_payment"] = [
            await enrollment.person_status(c, p, year) for p in persons if p not in payable
        ]
    return Created(view, created=True)


async def ensure_prepay(c: Container, order: PaymentOrder) -> None:
    """Obtain the gateway's prepay for an open order, once; a retry reuses the out_trade_no,
    so the payer can never be charged twice for one order."""
    if order.status is not OrderStatus.OPEN or order.prepay_id or order.code_url:
        return
    rt = runtime(c)
    prepay = await rt.gateway.prepay(
        method=order.pay_method,
        out_trade_no=order.out_trade_no,
        description=order.description,
        total_fen=order.total_fen,
        openid=order.openid,
        notify_url=rt.notify_url,
        time_expire=order.expires_at,
    )
    order.prepay_id, order.code_url = prepay.prepay_id, prepay.code_url
    await PaymentOrder.filter(id=order.id, status=OrderStatus.OPEN).update(
        prepay_id=prepay.prepay_id, code_url=prepay.code_url
    )


# -- reading -------------------------------------------------------------------------------


async def visible_order(c: Container, principal: Principal, order_id: int) -> PaymentOrder:
    order = await PaymentOrder.get_or_none(id=order_id)
    if order is None or not await _visible(principal, order):
        raise OrderNotFound()
    return order


async def get_order(
    c: Container, principal: Principal, order_id: int, *, refresh: bool = False
) -> dict[str, Any]:
    order = await visible_order(c, principal, order_id)
    if refresh and order.status is OrderStatus.OPEN:
        # After wx.requestPayment returns the page asks us; we ask the gateway (查单).
        await sync_order(c, order, close_if_unpaid=False)
        order = await PaymentOrder.get(id=order.id)
    if principal.is_staff():
        await record(
            c,
            actor=principal,
            action="payment.order.read",
            subject_type="payment_order",
            subject_id=order.id,
        )
    return await order_view(c, order, staff=principal.is_staff())


async def list_orders(c: Container, principal: Principal, *, year: int | None) -> dict[str, Any]:
    query = PaymentOrder.filter(created_by_id=principal.account_id)
    if year is not None:
        query = query.filter(year=year)
    orders = await query.order_by("-id").limit(50)
    return {"items": [await order_view(c, o, staff=principal.is_staff()) for o in orders]}


# -- crediting -----------------------------------------------------------------------------


class Credit(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    LATE_PAID = "late_paid"  # paid after we closed it: refunded, flagged for review
    PAID_TWICE = "paid_twice"  # a different transaction for a paid order: flagged


async def _note(
    notify_id: str, event_type: str, tx: Transaction, outcome: Credit, now: datetime
) -> None:
    if await PaymentNotification.exists(notify_id=notify_id):
        return
    await PaymentNotification.create(
        notify_id=notify_id,
        event_type=event_type,
        out_trade_no=tx.out_trade_no,
        outcome=outcome.value,
        summary={
            "trade_state": tx.trade_state,
            "transaction_id": tx.transaction_id,
            "total_fen": tx.total_fen,
            "success_time": tx.success_time.isoformat() if tx.success_time else None,
        },
        received_at=now,
    )


async def _flag(order: PaymentOrder, reason: str, now: datetime) -> None:
    await PaymentOrder.filter(id=order.id).update(
        needs_review=True, review_reason=reason[:200], updated_at=now
    )


async def credit(
    c: Container, tx: Transaction, *, notify_id: str, event_type: str = "TRANSACTION.SUCCESS"
) -> Credit:
    """Record a verified successful payment exactly once (see the module notes)."""
    now = c.clock.now()
    refund_id: int | None = None
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get_or_none(out_trade_no=tx.out_trade_no)
        if order is None:
            return Credit.UNKNOWN_ORDER
        if tx.total_fen != order.total_fen:
            await _flag(order, f"amount_mismatch: gateway {tx.total_fen} fen", now)
            await _note(notify_id, event_type, tx, Credit.AMOUNT_MISMATCH, now)
            await record(
                c,
                actor=None,
                action="payment.review",
                subject_type="payment_order",
                subject_id=order.id,
                reason="amount_mismatch",
                data={"expected_fen": order.total_fen, "reported_fen": tx.total_fen},
                actor_role="gateway",
            )
            return Credit.AMOUNT_MISMATCH
        if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.LATE_PAID):
            if order.transaction_id == tx.transaction_id:
                return Credit.DUPLICATE
            await _flag(order, f"paid_twice: {tx.transaction_id}", now)
            await _note(notify_id, event_type, tx, Credit.PAID_TWICE, now)
            return Credit.PAID_TWICE
        paid_at = tx.success_time or now
        if order.status is OrderStatus.CLOSED:
            # Money for an order we had closed: never credit a closed order (its persons may
            # have paid since through another order); refund it in full and flag it.
            await PaymentOrder.filter(id=order.id, version=order.version).update(
                status=OrderStatus.LATE_PAID,
                version=order.version + 1,
                refunded_fen=order.total_fen,
                transaction_id=tx.transaction_id,
                paid_at=paid_at,
                needs_review=True,
                review_reason="paid_after_close: refunded",
                updated_at=now,
            )
            refund = await PaymentRefund.create(
                out_refund_no=f"RF{order.out_trade_no}L",
                order=order,
                amount_fen=order.total_fen,
                reason="订单已关闭后到账，原路退回",
                status=RefundStatus.PENDING,
                created_at=now,
                updated_at=now,
            )
            refund_id = refund.id
            await _note(notify_id, event_type, tx, Credit.LATE_PAID, now)
            await record(
                c,
                actor=None,
                action="payment.late_paid",
                subject_type="payment_order",
                subject_id=order.id,
                reason="paid_after_close",
                data={"transaction_id": tx.transaction_id, "refund": refund.out_refund_no},
                actor_role="gateway",
            )
            outcome = Credit.LATE_PAID
        else:
            won = await PaymentOrder.filter(
                id=order.id, status=OrderStatus.OPEN, version=order.version
            ).update(
                status=OrderStatus.PAID,
                version=order.version + 1,
                transaction_id=tx.transaction_id,
                paid_at=paid_at,
                updated_at=now,
            )
            if not won:  # impossible under the row lock; never a double effect
                raise Conflict("订单状态已变化，请重试", code="ORDER_STATE_CHANGED")
            order.transaction_id, order.paid_at = tx.transaction_id, paid_at
            items = await PaymentOrderItem.filter(order_id=order.id).count()
            enrolled = await Enrollment.filter(
                order_id=order.id, status=EnrollmentStatus.PENDING_PAYMENT
            ).update(
                status=EnrollmentStatus.ENROLLED,
                enrolled_at=paid_at,
                updated_at=now,
                version=F("version") + 1,
            )
            if enrolled != items:
                await _flag(order, f"enrollment_mismatch: {enrolled}/{items}", now)
            await OpenOrderSlot.filter(order_id=order.id).delete()
            await issue_receipt(c, order, now)
            await _note(notify_id, event_type, tx, Credit.CREDITED, now)
            await record(
                c,
                actor=None,
                action="payment.credit",
                subject_type="payment_order",
                subject_id=order.id,
                data={
                    "transaction_id": tx.transaction_id,
                    "total_fen": order.total_fen,
                    "year": order.year,
                    "enrolled": enrolled,
                },
                actor_role="gateway",
            )
            outcome = Credit.CREDITED
    if refund_id is not None:
        from backend.payments.refunds import submit_refund

        await submit_refund(c, refund_id)
    return outcome


# -- closing and expiry --------------------------------------------------------------------


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
        await Enrollment.filter(order_id=order.id, status=EnrollmentStatus.PENDING_PAYMENT).update(
            status=EnrollmentStatus.NOT_ENROLLED,
            order_id=None,
            updated_at=now,
            version=F("version") + 1,
        )
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


async def _supersede_station_orders(c: Container, person_ids: list[int], year: int) -> None:
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


async def cancel_order(c: Container, principal: Principal, order_id: int) -> dict[str, Any]:
    """The payer gives up an open order (to change persons): closed at the gateway first."""
    order = await visible_order(c, principal, order_id)
    if order.status is not OrderStatus.OPEN:
        raise Conflict("该订单不是待支付状态，不能取消", code="ORDER_NOT_OPEN")
    outcome = await sync_order(c, order, close_if_unpaid=True)
    if outcome == "open" or outcome == "unknown":
        raise GatewayError("CLOSE_FAILED", "暂时无法取消订单，请稍后重试")
    return await order_view(c, await PaymentOrder.get(id=order.id), staff=principal.is_staff())


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
    from backend.payments.refunds import retry_pending_refunds

    await retry_pending_refunds(c)
    return closed
