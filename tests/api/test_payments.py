# ruff: noqa: F811  (the paysim fixture is imported, then requested by name)
"""Enrollment and premium payment through the API, with the WeChat Pay simulator behind the
real adapter: signed requests, signed and encrypted callbacks, exactly-once crediting."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from backend.audit.models import AuditEntry
from backend.enrollment.models import Enrollment, EnrollmentStatus, PersonCategory
from backend.identity.models import Person, Role
from backend.identity.persons import find_or_create_person
from backend.payments.expiry import expire_orders
from backend.payments.models import (
    OrderStatus,
    PaymentOrder,
    PaymentRefund,
    RefundStatus,
)
from tests.api.test_categories import approve_category, evidence_file, propose_category
from tests.factories import make_citizen, make_id_number, make_staff, make_station_tree
from tests.payments_kit import (
    IN_PERIOD,
    NOTIFY_URL,
    OUTSIDE_PERIOD,
    at,
    family_citizen,
    order_headers,
    paysim,  # noqa: F401  (fixture)
)

ORDERS = "/api/v1/payments/orders"
NOTIFY = "/api/v1/payments/wechat/notify"


async def _order(client, login, person_ids, key="k-1", year=2026):
    _, resp = await client.post(
        ORDERS, json={"year": year, "person_ids": person_ids}, headers=order_headers(login, key)
    )
    return resp


async def _status(person_id: int, year: int = 2026) -> str:
    row = await Enrollment.get_or_none(person_id=person_id, year=year)
    return row.status.value if row else "none"


async def test_full_flow_pay_callback_credit_receipt(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    resp = await _order(client, me, ids)
    assert resp.status == 201, resp.json
    order = resp.json
    assert order["status"] == "open"
    assert order["total_fen"] == 3 * 40000 and order["total_yuan"] == "1200.00"
    params = order["payment"]["pay_params"]
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"
    assert all("*" in item["person"]["id_number"] for item in order["items"])  # masked
    assert [await _status(pid) for pid in ids] == ["pending_payment"] * 3

    # The payer confirms in WeChat; the simulator sends the signed, encrypted callback.
    await paysim.sim.pay(order["out_trade_no"])
    notice = paysim.sim.callbacks.notices[-1]
    assert notice.statuses == [204] and notice.delivered

    _, resp = await client.get(f"{ORDERS}/{order['id']}", headers=me.headers)
    assert resp.json["status"] == "paid"
    assert resp.json["payment"] is None
    receipt = resp.json["receipt"]
    assert receipt["number"].startswith("YB2026")
    assert [await _status(pid) for pid in ids] == ["enrolled"] * 3

    _, resp = await client.get("/api/v1/enrollment?year=2026", headers=me.headers)
    assert [i["status"] for i in resp.json["items"]] == ["enrolled"] * 3

    _, resp = await client.get(f"{ORDERS}/{order['id']}/receipt", headers=me.headers)
    assert resp.status == 200
    assert resp.json["total_yuan"] == "1200.00" and len(resp.json["items"]) == 3
    assert resp.json["items"][0]["name"] == "王*国"

    _, resp = await client.get(
        "/api/v1/payments/receipts/verify",
        params={"number": receipt["number"], "code": receipt["verification_code"]},
    )
    assert resp.status == 200 and resp.json["status"] == "valid"
    _, resp = await client.get(
        "/api/v1/payments/receipts/verify",
        params={"number": receipt["number"], "code": "AAAAAAAAAAAA"},
    )
    assert resp.status == 404

    credits = await AuditEntry.filter(action="payment.credit").count()
    assert credits == 1


async def test_duplicate_callbacks_credit_once(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    await paysim.sim.pay(order["out_trade_no"])
    notice = paysim.sim.callbacks.notices[-1]
    # WeChat re-sends the same notification (re-signed each time): acknowledged, no effect.
    for _ in range(3):
        headers = paysim.sim.sign_headers(notice.body)
        _, resp = await client.post(NOTIFY, content=notice.body, headers=headers)
        assert resp.status == 204
    assert await AuditEntry.filter(action="payment.credit").count() == 1
    row = await PaymentOrder.get(id=order["id"])
    assert row.status is OrderStatus.PAID and row.version == 1


async def test_undelivered_callback_is_retried_on_schedule(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    real_sender = paysim.sim.callbacks.sender
    answers = iter([503, 0])

    async def flaky(url, headers, body):
        status = next(answers, None)
        return status if status is not None else await real_sender(url, headers, body)

    paysim.sim.callbacks.sender = flaky
    await paysim.sim.pay(order["out_trade_no"])
    notice = paysim.sim.callbacks.notices[-1]
    assert notice.statuses == [503] and not notice.delivered
    assert await _status(ids[0]) == "pending_payment"
    await paysim.sim.deliver_due()  # not due yet
    assert notice.attempts == 1
    c.clock.advance(seconds=1)
    await paysim.sim.deliver_due()
    assert notice.statuses == [503, 0]
    c.clock.advance(seconds=2)
    await paysim.sim.deliver_due()
    assert notice.statuses == [503, 0, 204] and notice.delivered
    assert await _status(ids[0]) == "enrolled"


async def _post_callback(client, headers, body):
    _, resp = await client.post(NOTIFY, content=body, headers=headers)
    return resp


async def _nothing_credited(order_id: int, person_id: int) -> None:
    row = await PaymentOrder.get(id=order_id)
    assert row.status is OrderStatus.OPEN and row.transaction_id is None
    assert await _status(person_id) == "pending_payment"
    assert await AuditEntry.filter(action="payment.credit").count() == 0


async def test_forged_and_broken_callbacks_change_nothing(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    plain = paysim.transaction(order["out_trade_no"], order["total_fen"])
    headers, body = paysim.callback(plain)

    # forged signature: signed by some other key
    from cryptography.hazmat.primitives.asymmetric import rsa

    from backend.payments import protocol

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = protocol.response_headers(other, paysim.serial, body, int(c.clock.now().timestamp()))
    assert (await _post_callback(client, forged, body)).status == 401
    # WeChat's probe traffic: a deliberately bad signature
    probe = {
        **headers,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"],
    }
    assert (await _post_callback(client, probe, body)).status == 401
    # body altered after signing
    tampered_body = body.replace(
        b'"event_type":"TRANSACTION.SUCCESS"', b'"event_type":"TRANSACTION.SUCCESS" '
    )
    assert (await _post_callback(client, headers, tampered_body)).status == 401
    # wrong serial
    wrong_serial = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000"}
    assert (await _post_callback(client, wrong_serial, body)).status == 401
    # stale timestamp (6 minutes old), correctly signed
    stale = paysim.sim.sign_headers(body, timestamp=int(c.clock.now().timestamp()) - 360)
    assert (await _post_callback(client, stale, body)).status == 401
    # missing headers
    assert (await _post_callback(client, {}, body)).status == 401
    # tampered ciphertext, correctly signed (as a replaying attacker with the platform key could)
    import json

    envelope = json.loads(body)
    ct = bytearray(envelope["resource"]["ciphertext"].encode())
    ct[10] = ord("A") if ct[10] != ord("A") else ord("B")
    envelope["resource"]["ciphertext"] = ct.decode()
    bad = json.dumps(envelope).encode()
    assert (await _post_callback(client, paysim.sim.sign_headers(bad), bad)).status == 400
    # not JSON at all, correctly signed
    assert (await _post_callback(client, paysim.sim.sign_headers(b"{oops"), b"{oops")).status == 400
    # another merchant's notification
    h, b = paysim.callback({**plain, "mchid": "1999999999"})
    assert (await _post_callback(client, h, b)).status == 400
    # unknown order
    h, b = paysim.callback(paysim.transaction("YB20251120FFFFFFFFFFFF", order["total_fen"]))
    assert (await _post_callback(client, h, b)).status == 404
    await _nothing_credited(order["id"], ids[0])

    # wrong amount: acknowledged (recorded), not credited, flagged for investigation
    h, b = paysim.callback(paysim.transaction(order["out_trade_no"], 1))
    assert (await _post_callback(client, h, b)).status == 200
    await _nothing_credited(order["id"], ids[0])
    row = await PaymentOrder.get(id=order["id"])
    assert row.needs_review and row.review_reason.startswith("amount_mismatch")

    # and the genuine callback still credits
    assert (await _post_callback(client, paysim.sim.sign_headers(body), body)).status == 204
    assert (await PaymentOrder.get(id=order["id"])).status is OrderStatus.PAID


async def test_order_creation_is_idempotent_and_one_open_order_per_person(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    first = await _order(client, me, ids[:2], key="same")
    assert first.status == 201
    again = await _order(client, me, ids[:2], key="same")
    assert again.status == 201 and again.json["id"] == first.json["id"]
    assert again.headers.get("idempotency-replayed") == "true"
    # a new key for the same persons: the open order, not a second one
    other_key = await _order(client, me, ids[:2], key="another")
    assert other_key.status == 200 and other_key.json["id"] == first.json["id"]
    # an overlapping but different set of persons: 409, naming the open order
    overlap = await _order(client, me, ids[1:], key="third")
    assert overlap.status == 409
    assert overlap.json["error"]["code"] == "ORDER_ALREADY_OPEN"
    assert overlap.json["error"]["details"]["order_id"] == first.json["id"]
    # the same key with a different body
    reused = await _order(client, me, ids[2:], key="same")
    assert reused.status == 409
    assert await PaymentOrder.all().count() == 1
    # a key is required
    _, resp = await client.post(
        ORDERS, json={"year": 2026, "person_ids": ids[:1]}, headers=me.headers
    )
    assert resp.status == 422 and resp.json["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"


async def test_already_enrolled_is_refused_without_a_second_order(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    await paysim.sim.pay(order["out_trade_no"])
    resp = await _order(client, me, ids[:1], key="k-2")
    assert resp.status == 409 and resp.json["error"]["code"] == "ALREADY_ENROLLED"
    assert resp.json["error"]["message"]
    assert await PaymentOrder.all().count() == 1


async def test_bad_input_is_a_clear_4xx(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    stranger = await find_or_create_person(c, "赵六", make_id_number(date(1970, 1, 5)))
    headers = {**order_headers(me, "bad-1"), "Content-Type": "application/json"}
    _, resp = await client.post(ORDERS, content=b"{not json", headers=headers)
    assert resp.status == 422 and resp.json["error"]["code"] == "MALFORMED_JSON"
    for payload in (
        {"year": "2026", "person_ids": ids[:1]},
        {"year": 2026, "person_ids": ["1"]},
        {"year": 2026, "person_ids": []},
        {"year": 2026, "person_ids": ids[:1], "extra": 1},
    ):
        _, resp = await client.post(ORDERS, json=payload, headers=order_headers(me, "bad-2"))
        assert resp.status == 422, payload
        assert resp.json["error"]["code"] == "VALIDATION_FAILED"
    # someone else's person id looks exactly like a missing one
    for pid in (stranger.id, 999999):
        resp = await _order(client, me, [pid], key=f"bad-{pid}")
        assert resp.status == 404 and resp.json["error"]["code"] == "PERSON_NOT_FOUND"
    other = await make_citizen(c, "other", name="孙七", id_number=make_id_number(date(1980, 2, 2)))
    mine = (await _order(client, me, ids[:1], key="mine")).json
    _, resp = await client.get(f"{ORDERS}/{mine['id']}", headers=other.headers)
    assert resp.status == 404 and resp.json["error"]["code"] == "ORDER_NOT_FOUND"
    resp = await _order(client, me, [ids[0]], key="bad-year", year=2031)
    assert resp.status == 422 and resp.json["error"]["code"] == "PREMIUM_NOT_PUBLISHED"
    assert await PaymentOrder.all().count() == 1


async def test_collection_period_and_newborn_exception(c, client, paysim):
    at(c, OUTSIDE_PERIOD)  # 2026-05-10: the 2026 period ended 2026-02-28
    me, ids = await family_citizen(c)
    resp = await _order(client, me, ids[:1])
    assert resp.status == 422
    assert resp.json["error"]["code"] == "COLLECTION_PERIOD_CLOSED"
    assert resp.json["error"]["details"]["collection_end"] == "2026-02-28"
    assert await _status(ids[0]) == "none"

    # a newborn born 30 days ago may enrol now, for the current year
    newborn = await find_or_create_person(c, "王小宝", make_id_number(date(2026, 4, 10)))
    from backend.family.models import ConsentStatus, FamilyMember, Relation

    await FamilyMember.create(
        owner_id=ids[0],
        member=newborn,
        relation=Relation.CHILD,
        consent_status=ConsentStatus.NOT_REQUIRED,
    )
    resp = await _order(client, me, [newborn.id], key="baby")
    assert resp.status == 201, resp.json
    # ... but not once the configured 90 days have passed
    c.clock.advance(days=61)
    await me.relogin(c)
    resp = await _order(client, me, [newborn.id, ids[1]], key="late")
    assert resp.status == 422 and resp.json["error"]["code"] == "COLLECTION_PERIOD_CLOSED"


async def test_a_wholly_subsidised_household_is_enrolled_without_an_order(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    for person_id in ids:  # 特困人员, every one of them
        await PersonCategory.create(
            person_id=person_id, category="tekun", valid_from=date(2024, 1, 1)
        )
    resp = await _order(client, me, ids)
    assert resp.status == 201, resp.json
    assert resp.json["order"] is None
    enrolled = resp.json["enrolled_without_payment"]
    assert len(enrolled) == len(ids) and {e["status"] for e in enrolled} == {"enrolled"}
    assert [await _status(i) for i in ids] == ["enrolled"] * len(ids)
    assert await PaymentOrder.all().count() == 0  # nothing to pay, nothing to collect


async def test_subsidy_categories_set_the_premium(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    # 低保对象: partly subsidised (280 元 of 400 元), with evidence and a second person
    change = await propose_category(client, await make_staff(c, Role.SUPERVISOR, "a"), ids[1])
    approved = await approve_category(client, await make_staff(c, Role.SUPERVISOR, "b"), change)
    assert approved["current_category"] == "dibao"
    # 特困人员: fully subsidised, enrolled without payment
    await PersonCategory.create(person_id=ids[2], category="tekun", valid_from=date(2024, 1, 1))
    # a citizen cannot propose categories
    _, resp = await client.post(
        f"/api/v1/enrollment/persons/{ids[0]}/category-changes",
        data={"category": "tekun", "valid_from": "2025-01-01", "evidence_number": "X"},
        files=evidence_file(),
        headers=me.headers,
    )
    assert resp.status == 403

    resp = await _order(client, me, ids)
    assert resp.status == 201, resp.json
    order = resp.json
    assert order["total_fen"] == 40000 + 12000
    due = {i["person"]["id"]: i["due_fen"] for i in order["items"]}
    assert due == {ids[0]: 40000, ids[1]: 12000}
    assert [e["status"] for e in order["enrolled_without_payment"]] == ["enrolled"]
    assert await _status(ids[2]) == "enrolled"

    # when the category has ended, the full premium applies again
    await PersonCategory.filter(person_id=ids[1]).update(valid_to=date(2025, 10, 31))
    _, resp = await client.get(f"/api/v1/enrollment/persons/{ids[1]}?year=2027", headers=me.headers)
    assert resp.json["quote"]["due_fen"] == 42000


async def test_station_staff_enrolls_on_behalf_with_native_pay(c, client, paysim):
    at(c, IN_PERIOD)
    tree = await make_station_tree(c)
    staff = await make_staff(c, Role.STATION_STAFF, "clerk2", station=tree["village_a"])
    _, resp = await client.post(
        "/api/v1/enrollment/persons",
        json={"name": "周八", "id_number": make_id_number(date(1950, 7, 7))},
        headers={**staff.headers, "Idempotency-Key": "reg-1"},
    )
    assert resp.status == 201
    pid = resp.json["id"]
    resp = await _order(client, staff, [pid], key="st-1")
    assert resp.status == 201
    assert resp.json["payment"]["method"] == "native"
    assert resp.json["payment"]["code_url"].startswith("weixin://")
    await paysim.sim.pay(resp.json["out_trade_no"])
    _, resp = await client.get(f"/api/v1/enrollment/persons/{pid}?year=2026", headers=staff.headers)
    assert resp.json["status"] == "enrolled"


async def test_expiry_closes_unpaid_orders_and_frees_the_persons(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    assert await expire_orders(c) == 0  # not yet expired
    c.clock.advance(minutes=31)
    assert await expire_orders(c) == 1
    row = await PaymentOrder.get(id=order["id"])
    assert row.status is OrderStatus.CLOSED
    assert paysim.sim.book.orders[order["out_trade_no"]].trade_state == "CLOSED"
    assert await _status(ids[0]) == "not_enrolled"
    await me.relogin(c)
    again = await _order(client, me, ids[:1], key="k-new")
    assert again.status == 201 and again.json["id"] != order["id"]


async def test_expiry_credits_an_order_paid_without_callback(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    await paysim.sim.pay(order["out_trade_no"], notify=False)  # the callback is lost
    c.clock.advance(minutes=31)
    assert await expire_orders(c) == 0
    assert (await PaymentOrder.get(id=order["id"])).status is OrderStatus.PAID
    assert await _status(ids[0]) == "enrolled"


async def test_query_endpoint_credits_after_payment(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    await paysim.sim.pay(order["out_trade_no"], notify=False)
    _, resp = await client.get(f"{ORDERS}/{order['id']}?refresh=true", headers=me.headers)
    assert resp.json["status"] == "paid"


async def test_callback_for_a_closed_order_is_refunded_not_credited(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    # closed here (say, by an operator) while the payer still paid at WeChat
    from backend.payments.expiry import close_local

    await close_local(c, order["id"], reason="test", actor=None)
    await paysim.sim.pay(order["out_trade_no"])
    row = await PaymentOrder.get(id=order["id"])
    assert row.status is OrderStatus.LATE_PAID and row.needs_review
    assert await _status(ids[0]) == "not_enrolled"
    refund = await PaymentRefund.get(order_id=order["id"])
    assert refund.amount_fen == order["total_fen"]
    assert refund.status is RefundStatus.PROCESSING  # accepted by the gateway
    await paysim.sim.deliver_due()  # the REFUND.SUCCESS notification
    refund = await PaymentRefund.get(order_id=order["id"])
    assert refund.status is RefundStatus.SUCCESS
    assert paysim.sim.book.refunds[refund.out_refund_no].refund_fen == order["total_fen"]


async def test_partial_and_full_refunds_revert_enrollment(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    supervisor = await make_staff(c, Role.SUPERVISOR, "boss")
    order = (await _order(client, me, ids)).json
    await paysim.sim.pay(order["out_trade_no"])
    url = f"{ORDERS}/{order['id']}/refunds"

    _, resp = await client.post(
        url, json={"person_ids": [ids[1]], "reason": "已在单位参保"}, headers=me.headers
    )
    assert resp.status == 403  # citizens cannot refund
    headers = {**supervisor.headers, "Idempotency-Key": "rf-1"}
    _, resp = await client.post(
        url, json={"person_ids": [ids[1]], "reason": "已在单位参保"}, headers=headers
    )
    assert resp.status == 201, resp.json
    assert resp.json["amount_fen"] == 40000 and resp.json["status"] == "processing"
    await paysim.sim.deliver_due()  # REFUND.SUCCESS arrives
    assert (await PaymentRefund.get(id=resp.json["id"])).status is RefundStatus.SUCCESS
    assert await _status(ids[1]) == "not_enrolled"
    assert await _status(ids[0]) == "enrolled"
    _, again = await client.post(
        url, json={"person_ids": [ids[1]], "reason": "已在单位参保"}, headers=headers
    )
    assert again.json["id"] == resp.json["id"]  # replayed, not a second refund
    _, dup = await client.post(
        url,
        json={"person_ids": [ids[1]], "reason": "重复"},
        headers={**supervisor.headers, "Idempotency-Key": "rf-2"},
    )
    assert dup.status == 409 and dup.json["error"]["code"] == "REFUND_ALREADY_REQUESTED"

    _, resp = await client.post(
        url, json={"reason": "全部退费"}, headers={**supervisor.headers, "Idempotency-Key": "rf-3"}
    )
    assert resp.status == 201 and resp.json["amount_fen"] == 80000
    row = await PaymentOrder.get(id=order["id"])
    assert row.status is OrderStatus.REFUNDED and row.refunded_fen == row.total_fen
    assert [await _status(pid) for pid in ids] == ["not_enrolled"] * 3
    assert paysim.sim.book.orders[order["out_trade_no"]].refunded_fen == 120000
    _, resp = await client.get(f"{ORDERS}/{order['id']}/receipt", headers=me.headers)
    assert resp.json["status"] == "voided"
    assert await AuditEntry.filter(action="payment.refund.request").count() == 2


async def test_refund_retry_reuses_the_refund_number(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    supervisor = await make_staff(c, Role.SUPERVISOR, "boss2")
    order = (await _order(client, me, ids[:1])).json
    await paysim.sim.pay(order["out_trade_no"])
    gateway = paysim.rt.gateway
    real_refund = gateway.refund
    calls: list[str] = []

    async def down(**kwargs):
        calls.append(kwargs["out_refund_no"])
        from backend.payments.gateway import GatewayError

        raise GatewayError("NETWORK")

    gateway.refund = down  # type: ignore[method-assign]
    _, resp = await client.post(
        f"{ORDERS}/{order['id']}/refunds",
        json={"reason": "重复参保"},
        headers={**supervisor.headers, "Idempotency-Key": "r"},
    )
    assert resp.status == 201 and resp.json["status"] == "pending"

    async def spy(**kwargs):
        calls.append(kwargs["out_refund_no"])
        return await real_refund(**kwargs)

    gateway.refund = spy  # type: ignore[method-assign]
    await expire_orders(c)  # the sweep resubmits pending refunds
    await expire_orders(c)
    refund = await PaymentRefund.get(order_id=order["id"])
    assert refund.status is RefundStatus.SUCCESS
    assert calls == [refund.out_refund_no, refund.out_refund_no]
    assert len(paysim.sim.book.refunds) == 1


async def test_reconciliation_reports_missing_extra_and_mismatched(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    tree = await make_station_tree(c)
    staff = await make_staff(c, Role.STATION_STAFF, "clerk3", station=tree["village_a"])
    a = (await _order(client, me, ids[:1], key="a")).json
    b = (await _order(client, me, ids[1:2], key="b")).json
    x = (await _order(client, me, ids[2:], key="x")).json
    await paysim.sim.pay(a["out_trade_no"])
    await paysim.sim.pay(b["out_trade_no"])
    await paysim.sim.pay(x["out_trade_no"], notify=False)  # paid at WeChat, not here: extra
    # mismatched: our record of b says another amount; missing: a paid order WeChat never saw
    await PaymentOrder.filter(id=b["id"]).update(total_fen=39999)
    pid = (await find_or_create_person(c, "吴九", make_id_number(date(1960, 1, 1)))).id
    await Person.filter(id=pid).update(home_station_id=tree["village_a"].id)  # registered there
    ghost = (await _order(client, staff, [pid], key="g")).json
    await PaymentOrder.filter(id=ghost["id"]).update(
        status=OrderStatus.PAID, paid_at=c.clock.now(), transaction_id="42000000ghost"
    )
    c.clock.advance(days=1)
    from backend.payments.reconcile import reconcile

    report = await reconcile(c, IN_PERIOD.date())
    assert not report.clean
    assert [e["out_trade_no"] for e in report.extra] == [x["out_trade_no"]]
    assert [e["out_trade_no"] for e in report.missing] == [ghost["out_trade_no"]]
    assert [e["out_trade_no"] for e in report.mismatched] == [b["out_trade_no"]]
    assert report.bill_payments == 3 and report.local_payments == 3

    clean = await reconcile(c, IN_PERIOD.date() - timedelta(days=1))
    assert clean.clean and clean.bill_payments == 0


async def test_notify_url_has_no_query_and_callbacks_need_no_login(paysim):
    assert "?" not in NOTIFY_URL


async def test_status_lapsed_after_the_collection_period(c, client, paysim):
    at(c, OUTSIDE_PERIOD)  # 2026-05-10
    me, ids = await family_citizen(c)
    await Enrollment.create(person_id=ids[0], year=2025, status=EnrollmentStatus.ENROLLED)
    _, resp = await client.get("/api/v1/enrollment?year=2026", headers=me.headers)
    assert resp.status == 200
    assert [i["status"] for i in resp.json["items"]] == ["lapsed", "not_enrolled", "not_enrolled"]
    assert resp.json["items"][0]["quote"]["due_fen"] == 40000
    from backend.enrollment.service import is_enrolled

    assert await is_enrolled(ids[0], 2025) and not await is_enrolled(ids[0], 2026)


async def test_simulate_pay_endpoint_in_development(c, client, paysim):
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    _, resp = await client.post(f"{ORDERS}/{order['id']}/simulate-pay", headers=me.headers)
    assert resp.status == 200 and resp.json["status"] == "paid"
    _, resp = await client.post(f"{ORDERS}/{order['id']}/simulate-pay", headers=me.headers)
    assert resp.status == 422 and resp.json["error"]["code"] == "SIMULATOR_REFUSED"


async def test_each_callback_is_delivered_once_even_with_the_loop_running(c, client, paysim):
    """The background loop and ``pay`` both deliver: each notice still reaches us once, and
    only an unacknowledged one is sent again."""
    at(c, IN_PERIOD)
    me, ids = await family_citizen(c)
    order = (await _order(client, me, ids[:1])).json
    sent: list[str] = []
    deliver = paysim.sim.callbacks.sender

    async def counting(url, headers, body):
        sent.append(body.decode()[:40])
        await asyncio.sleep(0)  # let the other round run while this one is in flight
        return await deliver(url, headers, body)

    paysim.sim.callbacks.sender = counting
    await asyncio.gather(
        paysim.sim.pay(order["out_trade_no"]), paysim.sim.deliver_due(), paysim.sim.deliver_due()
    )
    assert len(sent) == 1 and paysim.sim.callbacks.notices[-1].statuses == [204]
    await paysim.sim.deliver_due()
    assert len(sent) == 1  # acknowledged: never sent again
