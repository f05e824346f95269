"""The simulator as one object: its signer, its trade book, its callbacks and its bills, with
the request → response core (:meth:`PaySimulator.handle`) and its in-process mounting."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import Clock
from backend.payments.simulator.callbacks import RETRY_SCHEDULE_S, Callbacks, Sender, http_sender
from backend.payments.simulator.routing import route
from backend.payments.simulator.signing import Answer, Signer
from backend.payments.simulator.state import SimOrder, TradeBook, transaction_json


class PaySimulator:
    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        apiv3_key: bytes,
        platform_key: rsa.RSAPrivateKey,
        platform_serial: str,
        merchant_public_key: rsa.RSAPublicKey,
        merchant_serial: str,
        clock: Clock,
        sender: Sender = http_sender,
        schedule_s: tuple[float, ...] = RETRY_SCHEDULE_S,
        base_url: str = "https://paysim.local",
    ) -> None:
        self.mchid = mchid
        self.appid = appid
        self.platform_serial = platform_serial
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.signer = Signer(
            mchid=mchid,
            apiv3_key=apiv3_key,
            platform_key=platform_key,
            platform_serial=platform_serial,
            merchant_public_key=merchant_public_key,
            merchant_serial=merchant_serial,
            clock=clock,
        )
        self.book = TradeBook(mchid=mchid, appid=appid, clock=clock)
        self.callbacks = Callbacks(self.signer, clock, sender, schedule_s)
        self.bills: dict[str, bytes] = {}  # download token → the bill, single use
        self.lock = asyncio.Lock()

    # -- what tests and benchmarks use to build (or forge) WeChat's messages ----------------

    def sign_headers(
        self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        return self.signer.sign_headers(body, timestamp=timestamp, nonce=nonce)

    def notification_body(
        self, event_type: str, plaintext: dict[str, Any], notify_id: str | None = None
    ) -> bytes:
        return self.signer.notification_body(event_type, plaintext, notify_id)

    def transaction_json(self, order: SimOrder) -> dict[str, Any]:
        return transaction_json(order)

    # -- the user's side and the callbacks ------------------------------------------------

    async def pay(self, out_trade_no: str, *, notify: bool = True) -> SimOrder:
        """The payer confirms in WeChat: the order succeeds and a callback is queued."""
        async with self.lock:
            order = self.book.pay(out_trade_no)
            if notify:
                self.callbacks.queue(
                    order.notify_url, "TRANSACTION.SUCCESS", transaction_json(order)
                )
        await self.deliver_due()
        return order

    async def deliver_due(self) -> int:
        return await self.callbacks.deliver_due()

    async def run(self, poll_s: float = 1.0) -> None:
        await self.callbacks.run(poll_s)

    # -- the HTTP protocol ------------------------------------------------------------------

    async def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        return await route(self, method, target, headers, body)

    def transport(self) -> httpx.AsyncBaseTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            target = request.url.raw_path.decode("ascii")
            status, headers, body = await self.handle(
                request.method, target, dict(request.headers), await request.aread()
            )
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(handler)
