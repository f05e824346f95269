"""Who may see a payment order: the citizen who made it, the clerks of the station where it
was made, supervisors and admins. Anyone else gets the same 404 as for a missing order."""

from __future__ import annotations

from backend.container import Container
from backend.errors import NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.payments.models import PaymentOrder
from backend.stations.scope import ALL_STATIONS


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    message = "未找到该缴费订单"


def may_see(principal: Principal, order: PaymentOrder) -> bool:
    if principal.role is Role.CITIZEN:
        return order.created_by_id == principal.account_id
    if principal.role is Role.STATION_STAFF:
        return principal.station_id is not None and order.station_id == principal.station_id
    return principal.role in ALL_STATIONS


async def visible_order(c: Container, principal: Principal, order_id: int) -> PaymentOrder:
    order = await PaymentOrder.get_or_none(id=order_id)
    if order is None or not may_see(principal, order):
        raise OrderNotFound()
    return order
