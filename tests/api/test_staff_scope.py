# ruff: noqa: F811  (the paysim fixture is imported, then requested by name)
"""Staff scope on payment orders, receipts, cancellations and enrollment look-ups: a clerk acts
only for citizens who authorised their station or are registered there; the rest is a 404."""

from __future__ import annotations

from datetime import date

import pytest

from backend.audit.models import AuditEntry
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.identity.models import Person, Role
from backend.payments.models import OrderStatus, PaymentOrder
from tests.api.test_auth import assert_error
from tests.factories import make_id_number, make_staff, make_station_tree
from tests.payments_kit import (
    IN_PERIOD,
    at,
    family_citizen,
    order_headers,
    paysim,  # noqa: F401  (fixture)
)

ORDERS = "/api/v1/payments/orders"
ZHOU = make_id_number(date(1950, 7, 7), seq=77)


async def _register(client, clerk, name: str, id_number: str, key: str) -> int:
    _, resp = await client.post(
        "/api/v1/enrollment/persons",
        json={"name": name, "id_number": id_number},
        headers={**clerk.headers, "Idempotency-Key": key},
    )
    assert resp.status == 201, resp.json
    return resp.json["id"]


async def _order(client, who, person_ids: list[int], key: str):
    _, resp = await client.post(
        ORDERS, json={"year": 2026, "person_ids": person_ids}, headers=order_headers(who, key)
    )
    return resp


async def test_a_clerk_cannot_read_or_cancel_another_stations_orders(client, c, paysim):
    # The attack as reported: a clerk read and cancelled another station's citizen's orders.
    at(c, IN_PERIOD)
    tree = await make_station_tree(c)
    home = await make_staff(c, Role.STATION_STAFF, "home", station=tree["village_a"])
    away = await make_staff(c, Role.STATION_STAFF, "away", station=tree["village_b"])
    pid = await _register(client, home, "周八", ZHOU, "reg-1")
    order = await _order(client, home, [pid], "o-1")
    assert order.status == 201, order.json
    order_id = order.json["id"]
    await paysim.sim.pay(order.json["out_trade_no"])
    for method, path in (
        ("GET", f"{ORDERS}/{order_id}"),
        ("GET", f"{ORDERS}/{order_id}/receipt"),
        ("POST", f"{ORDERS}/{order_id}/cancel"),
    ):
        _, resp = await client.request(method, path, headers=away.headers)
        assert_error(resp, 404)
    _, resp = await client.get(f"{ORDERS}/{order_id}/receipt", headers=home.headers)
    assert resp.status == 200
    # A citizen's own app order is not any clerk's to read.
    me, ids = await family_citizen(c)
    mine = await _order(client, me, ids[:1], "m-1")
    _, resp = await client.get(f"{ORDERS}/{mine.json['id']}", headers=home.headers)
    assert_error(resp, 404)


async def test_enrollment_look_ups_outside_the_station_are_404(client, c):
    # The attack as reported: GET /enrollment/persons/{id} answered for sequential ids.
    at(c, IN_PERIOD)
    tree = await make_station_tree(c)
    home = await make_staff(c, Role.STATION_STAFF, "home", station=tree["village_a"])
    away = await make_staff(c, Role.STATION_STAFF, "away", station=tree["village_b"])
    pid = await _register(client, home, "周八", ZHOU, "reg-1")
    _, citizen_ids = await family_citizen(c)
    for person_id in (pid, *citizen_ids, pid + 1000):
        _, resp = await client.get(f"/api/v1/enrollment/persons/{person_id}", headers=away.headers)
        assert_error(resp, 404, "PERSON_NOT_FOUND")
        assert "周八" not in resp.text and "王" not in resp.text
    _, resp = await client.get(f"/api/v1/enrollment/persons/{pid}", headers=home.headers)
    assert resp.status == 200 and resp.json["person"]["name"] == "周八"


async def test_a_clerk_out_of_scope_cannot_order_for_a_citizen_and_block_them(client, c, paysim):
    # The attack as reported: a clerk's order for a person blocked the person's own for 30 min.
    at(c, IN_PERIOD)
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_b"])
    me, ids = await family_citizen(c)
    blocked = await _order(client, clerk, ids[:1], "x-1")
    assert_error(blocked, 404, "PERSON_NOT_FOUND")
    own = await _order(client, me, ids[:1], "own-1")
    assert own.status == 201, own.json


async def _in_scope_clerk_order(client, c):
    """A clerk of the station the person is registered at makes an order for them."""
    at(c, IN_PERIOD)
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    me, ids = await family_citizen(c)
    await Person.filter(id=ids[0]).update(home_station_id=tree["village_a"].id)
    theirs = await _order(client, clerk, ids[:1], "c-1")
    assert theirs.status == 201, theirs.json
    return clerk, me, ids, theirs.json


async def test_an_in_scope_clerks_order_does_not_block_the_persons_own(client, c, paysim):
    # The person's own order supersedes the clerk's pending one (closed at the gateway first).
    clerk, me, ids, theirs = await _in_scope_clerk_order(client, c)
    own = await _order(client, me, ids[:1], "own-1")
    assert own.status == 201, own.json
    assert paysim.sim.book.orders[theirs["out_trade_no"]].trade_state == "CLOSED"
    _, resp = await client.get(f"{ORDERS}/{theirs['id']}", headers=clerk.headers)
    assert resp.json["status"] == "closed"
    # The clerk's code can no longer be paid; the person pays once and is credited once.
    with pytest.raises(ValueError):
        await paysim.sim.pay(theirs["out_trade_no"])
    await paysim.sim.pay(own.json["out_trade_no"])
    assert await PaymentOrder.filter(status=OrderStatus.PAID).count() == 1
    row = await Enrollment.get(person_id=ids[0], year=2026)
    assert row.status is EnrollmentStatus.ENROLLED and row.order_id == own.json["id"]  # type: ignore[attr-defined]
    entry = await AuditEntry.get(action="payment.order.close", subject_id=theirs["id"])
    assert entry.reason == "superseded_by_own_order"


async def test_a_clerks_order_paid_meanwhile_is_credited_once(client, c, paysim):
    # Paid at the station, callback not yet in: the citizen's attempt credits it, no 2nd order.
    _, me, ids, theirs = await _in_scope_clerk_order(client, c)
    await paysim.sim.pay(theirs["out_trade_no"], notify=False)
    own = await _order(client, me, ids[:1], "own-1")
    assert_error(own, 409, "ALREADY_ENROLLED")
    assert await PaymentOrder.all().count() == 1
    assert (await PaymentOrder.get(id=theirs["id"])).status is OrderStatus.PAID
    await paysim.sim.deliver_due()
    assert await PaymentOrder.filter(status=OrderStatus.PAID).count() == 1


async def test_registering_a_known_person_does_not_widen_a_clerks_scope(client, c):
    tree = await make_station_tree(c)
    home = await make_staff(c, Role.STATION_STAFF, "home", station=tree["village_a"])
    away = await make_staff(c, Role.STATION_STAFF, "away", station=tree["village_b"])
    pid = await _register(client, home, "周八", ZHOU, "reg-1")
    _, resp = await client.post(
        "/api/v1/enrollment/persons",
        json={"name": "周八", "id_number": ZHOU},
        headers={**away.headers, "Idempotency-Key": "reg-2"},
    )
    assert_error(resp, 409, "PERSON_ALREADY_REGISTERED")
    _, resp = await client.get(f"/api/v1/enrollment/persons/{pid}", headers=away.headers)
    assert_error(resp, 404)
