"""Test kit for enrollment and payments: the in-process WeChat Pay simulator wired to the app
through the ASGI client, dates inside a collection period, and citizens with families."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from backend.clock import CHINA_TZ
from backend.container import Container
from backend.family.models import ConsentStatus, FamilyMember, Relation
from backend.identity.persons import find_or_create_person
from backend.payments import protocol
from backend.payments.runtime import (
    PaymentsRuntime,
    dev_keys,
    install,
    make_simulator,
    simulated_runtime,
)
from backend.payments.simulator.paysim import PaySimulator
from tests.factories import Login, make_citizen, make_id_number

NOTIFY_URL = "https://yibao.test/api/v1/payments/wechat/notify"
# Inside the 2026 collection period (2025-09-01 .. 2026-02-28), China time
IN_PERIOD = datetime(2025, 11, 20, 10, 0, tzinfo=CHINA_TZ)
OUTSIDE_PERIOD = datetime(2026, 5, 10, 10, 0, tzinfo=CHINA_TZ)
TEST_SCHEDULE_S = (1, 2, 3)  # WeChat's schedule, shortened


@dataclass
class PaySim:
    sim: PaySimulator
    rt: PaymentsRuntime
    c: Container

    @property
    def serial(self) -> str:
        return self.sim.platform_serial

    def transaction(self, out_trade_no: str, total_fen: int, **override: Any) -> dict[str, Any]:
        data = {
            "appid": self.sim.appid,
            "mchid": self.sim.mchid,
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000000000000000000001",
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "success_time": self.c.clock.now().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
            "payer": {"openid": "o-test"},
            "amount": {"total": total_fen, "payer_total": total_fen, "currency": "CNY"},
        }
        data.update(override)
        return data

    def callback(
        self,
        plaintext: dict[str, Any],
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        notify_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        body = self.sim.notification_body(event_type, plaintext, notify_id)
        return self.sim.sign_headers(body, timestamp=timestamp), body


async def asgi_sender(client: Any) -> Any:
    async def send(url: str, headers: dict[str, str], body: bytes) -> int:
        _, resp = await client.post(
            urlsplit(url).path,
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        return resp.status

    return send


@pytest.fixture
async def paysim(
    c: Container, client: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PaySim]:
    """The real adapter in front of an in-process simulator; callbacks go through the app."""
    keys = dev_keys(tmp_path_factory.getbasetemp() / "paysim-keys")
    sim = make_simulator(
        keys, c.clock, sender=await asgi_sender(client), schedule_s=TEST_SCHEDULE_S
    )
    rt = simulated_runtime(keys, c.clock, notify_url=NOTIFY_URL, order_ttl_s=1800, simulator=sim)
    install(c, rt)
    try:
        yield PaySim(sim, rt, c)
    finally:
        install(c, None)


def at(c: Container, moment: datetime) -> None:
    c.clock.set(moment.astimezone(UTC))  # type: ignore[attr-defined]


async def family_citizen(c: Container, user: str = "payer") -> tuple[Login, list[int]]:
    """A bound citizen with a consenting adult spouse and a minor child: [self, spouse, child]."""
    me = await make_citizen(c, user, name="王建国", id_number=make_id_number(date(1985, 3, 2)))
    spouse = await find_or_create_person(c, "李秀英", make_id_number(date(1987, 6, 9), seq=202))
    child = await find_or_create_person(c, "王小明", make_id_number(date(2016, 8, 1)))
    assert me.person is not None
    await FamilyMember.create(
        owner=me.person,
        member=spouse,
        relation=Relation.SPOUSE,
        consent_status=ConsentStatus.GRANTED,
        consent_via="member",
        consented_at=c.clock.now(),
    )
    await FamilyMember.create(
        owner=me.person,
        member=child,
        relation=Relation.CHILD,
        consent_status=ConsentStatus.NOT_REQUIRED,
    )
    return me, [me.person.id, spouse.id, child.id]


def order_headers(login: Login, key: str) -> dict[str, str]:
    return {**login.headers, "Idempotency-Key": key}


def envelope_of(body: bytes) -> dict[str, Any]:
    return json.loads(body)


__all__ = ["protocol"]
