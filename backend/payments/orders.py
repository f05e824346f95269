"""Payment orders: creation (idempotent, one open order per person and year), the gateway's
prepay, reading and cancelling.

Domain-level idempotency, independent of the HTTP layer: the same Idempotency-Key of the same
caller returns the same order (a different request with it is a 409), and a person with an open
order for the year yields that order (same persons) or a 409. The open-order slot (unique per
person and year) and the key's unique constraint decide between concurrent creators.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.enrollment import premiums
from backend.enrollment import service as enrollment
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.enrollment.service import AlreadyEnrolled, Quote
from backend.errors import Conflict
from backend.identity.models import Account, Person, Role
from backend.identity.principal import Principal
from backend.payments.access import may_see, visible_order
from backend.payments.expiry import supersede_station_orders, sync_order
from backend.payments.gateway import GatewayError
from backend.payments.models import OpenOrderSlot, OrderStatus, PaymentOrder, PaymentOrderItem
from backend.payments.runtime import runtime
from backend.payments.views import order_view


class OrderAlreadyOpen(Conflict):
    code = "ORDER_ALREADY_OPEN"
    message = "所选人员已有待支付的缴费订单，请先完成或取消该订单"


def new_trade_no(now: datetime) -> str:
    return f"YB{now.astimezone(CHINA_TZ):%Y%m%d}{secrets.token_hex(6).upper()}"


@dataclass(frozen=True)
class Created:
    view: dict[str, Any]
    created: bool  # False: an existing open order (same key, or same persons) was returned


@dataclass(frozen=True)
class _Request:
    """One order request, checked and quoted, with the payer it comes from."""

    year: int
    person_ids: list[int]  # as asked
    persons: list[Person]
    quotes: dict[int, Quote]
    channel: str  # app | station
    openid: str | None
    payer_person_id: int | None
    idempotency_key: str | None
    now: datetime

    @property
    def payable(self) -> list[Person]:
        return [p for p in self.persons if self.quotes[p.id].due_fen > 0]

    @property
    def free(self) -> list[Person]:
        return [p for p in self.persons if self.quotes[p.id].due_fen == 0]


async def create_order(
    c: Container,
    principal: Principal,
    *,
    year: int,
    person_ids: list[int],
    idempotency_key: str | None,
) -> Created:
    """Create (or return) the open order paying ``year``'s premium for ``person_ids``."""
    if idempotency_key:
        existing = await _existing_for_key(principal, idempotency_key)
        if existing is not None:
            return await _replay(c, principal, existing, year, person_ids)
    request = await _checked_request(c, principal, year, person_ids, idempotency_key)
    rows = await enrollment.ensure_rows([p.id for p in request.persons], year)
    try:
        async with in_transaction():
            held = await premiums.lock_person_years(rows)
            open_orders = _open_orders(held, request)
            order = None if open_orders else await _place(c, principal, request, held)
    except IntegrityError:
        return await _after_race(c, principal, request)
    if open_orders:
        if len(open_orders) != 1:
            raise OrderAlreadyOpen(order_id=None)
        found = await PaymentOrder.get(id=open_orders.pop())
        return await _reuse(c, principal, found, year, person_ids)
    return await _answer(c, principal, request, order)


async def _replay(
    c: Container, principal: Principal, order: PaymentOrder, year: int, person_ids: list[int]
) -> Created:
    """The same Idempotency-Key again: the same order, unless the request differs."""
    if not await _same_request(order, year, person_ids):
        raise Conflict("该幂等键已用于另一笔不同的请求", code="IDEMPOTENCY_KEY_REUSED")
    if order.status is OrderStatus.OPEN:
        await ensure_prepay(c, order)
    return Created(await order_view(c, order, staff=principal.is_staff()), False)


async def _checked_request(
    c: Container, principal: Principal, year: int, person_ids: list[int], key: str | None
) -> _Request:
    """The persons the caller may pay for, inside the collection window, with their quotes."""
    persons = await enrollment.persons_for(c, principal, person_ids)
    if principal.role is Role.CITIZEN:
        await supersede_station_orders(c, [p.id for p in persons], year)
    for person in persons:
        enrollment.check_window(c, person, year)
    quotes = {p.id: await enrollment.quote(c, p, year) for p in persons}
    account = await Account.get(id=principal.account_id)
    if principal.role is Role.CITIZEN:
        channel, openid, payer = "app", account.openid, account.person_id  # type: ignore[attr-defined]
    else:
        channel, openid, payer = "station", None, None
    return _Request(year, person_ids, persons, quotes, channel, openid, payer, key, c.clock.now())


def _open_orders(held: dict[int, Enrollment], request: _Request) -> set[int]:
    """The open orders already holding these persons; an enrolled person is refused."""
    open_orders: set[int] = set()
    for person in request.persons:
        row = held[person.id]
        if row.status is EnrollmentStatus.ENROLLED:
            raise AlreadyEnrolled(person_id=person.id)
        if row.status is EnrollmentStatus.PENDING_PAYMENT and row.order_id:
            open_orders.add(row.order_id)
    return open_orders


async def _place(
    c: Container, principal: Principal, request: _Request, held: dict[int, Enrollment]
) -> PaymentOrder | None:
    """Enroll the fully subsidised (特困人员) without payment; one order for the others,
    holding their person-years. None when nobody has anything to pay."""
    for person in request.free:
        await premiums.enroll_subsidised(
            c, principal, held[person.id], request.quotes[person.id], request.now
        )
    payable = request.payable
    if not payable:
        return None
    order = await _new_order(
        c, principal, request, sum(request.quotes[p.id].due_fen for p in payable)
    )
    for person in payable:
        quote = request.quotes[person.id]
        await OpenOrderSlot.create(person_id=person.id, year=request.year, order=order)
        await PaymentOrderItem.create(
            order=order,
            person_id=person.id,
            enrollment_id=held[person.id].id,
            contribution_fen=quote.contribution_fen,
            subsidy_category=quote.category,
            subsidy_fen=quote.subsidy_fen,
            due_fen=quote.due_fen,
        )
        await premiums.hold_for_order(
            held[person.id], order.id, quote, request.channel, request.now
        )
    await record(
        c,
        actor=principal,
        action="payment.order.create",
        subject_type="payment_order",
        subject_id=order.id,
        data={
            "year": request.year,
            "persons": [p.id for p in payable],
            "total_fen": order.total_fen,
        },
    )
    return order


async def _new_order(
    c: Container, principal: Principal, request: _Request, total: int
) -> PaymentOrder:
    now, year = request.now, request.year
    return await PaymentOrder.create(
        out_trade_no=new_trade_no(now),
        year=year,
        status=OrderStatus.OPEN,
        total_fen=total,
        description=f"{year}年度城乡居民医保缴费（{len(request.payable)}人）",
        created_by_id=principal.account_id,
        payer_person_id=request.payer_person_id,
        channel=request.channel,
        station_id=principal.station_id,
        idempotency_key=request.idempotency_key,
        pay_method="jsapi" if request.openid else "native",
        openid=request.openid,
        expires_at=now + timedelta(seconds=runtime(c).order_ttl_s),
        created_at=now,
        updated_at=now,
    )


async def _after_race(c: Container, principal: Principal, request: _Request) -> Created:
    """A concurrent request won the slot or the key: answer with its order."""
    year, person_ids, key = request.year, request.person_ids, request.idempotency_key
    if key and (again := await _existing_for_key(principal, key)):
        return await _reuse(c, principal, again, year, person_ids)
    ids = [p.id for p in request.persons]
    slot = await OpenOrderSlot.filter(person_id__in=ids, year=year).first()
    if slot is None:
        raise Conflict("订单正在创建中，请稍后重试", code="ORDER_BUSY") from None
    order = await PaymentOrder.get(id=slot.order_id)
    return await _reuse(c, principal, order, year, person_ids)


async def _answer(
    c: Container, principal: Principal, request: _Request, order: PaymentOrder | None
) -> Created:
    """The new order with its prepay, and who was enrolled without payment."""
    year = request.year
    if order is None:  # everyone fully subsidised
        free = [await enrollment.person_status(c, p, year) for p in request.persons]
        return Created({"order": None, "enrolled_without_payment": free}, created=True)
    await ensure_prepay(c, order)
    view = await order_view(c, order, staff=principal.is_staff())
    unpaid = [p for p in request.persons if p not in request.payable]
    if unpaid:
        view["enrolled_without_payment"] = [
            await enrollment.person_status(c, p, year) for p in unpaid
        ]
    return Created(view, created=True)


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
        raise OrderAlreadyOpen(order_id=order.id if may_see(principal, order) else None)
    if not may_see(principal, order):
        raise OrderAlreadyOpen(order_id=None)
    if order.status is OrderStatus.OPEN:
        await ensure_prepay(c, order)
    return Created(await order_view(c, order, staff=principal.is_staff()), created=False)


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


# -- reading and cancelling ------------------------------------------------------------------


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


async def cancel_order(c: Container, principal: Principal, order_id: int) -> dict[str, Any]:
    """The payer gives up an open order (to change persons): closed at the gateway first."""
    order = await visible_order(c, principal, order_id)
    if order.status is not OrderStatus.OPEN:
        raise Conflict("该订单不是待支付状态，不能取消", code="ORDER_NOT_OPEN")
    outcome = await sync_order(c, order, close_if_unpaid=True)
    if outcome == "open" or outcome == "unknown":
        raise GatewayError("CLOSE_FAILED", "暂时无法取消订单，请稍后重试")
    return await order_view(c, await PaymentOrder.get(id=order.id), staff=principal.is_staff())
