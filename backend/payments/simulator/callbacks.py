"""Callbacks to the merchant's notify_url, redelivered like WeChat does: a callback not
answered with 2xx is sent again on the schedule (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m,
60m, 3h, 3h, 3h, 6h, 6h; tests shorten it by scaling or by moving the clock), re-signed for
every attempt, and abandoned after the last."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from backend.clock import CHINA_TZ, Clock
from backend.payments.simulator.signing import Signer

log = logging.getLogger("yibao.paysim")

RETRY_SCHEDULE_S: tuple[float, ...] = (
    15,
    15,
    30,
    180,
    600,
    1200,
    1800,
    1800,
    1800,
    3600,
    10800,
    10800,
    10800,
    21600,
    21600,
)

Sender = Callable[[str, dict[str, str], bytes], Awaitable[int]]


@dataclass
class PendingNotice:
    notify_id: str
    url: str
    body: bytes
    out_trade_no: str
    attempts: int = 0
    next_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=CHINA_TZ))
    delivered: bool = False
    statuses: list[int] = field(default_factory=list)


async def http_sender(url: str, headers: dict[str, str], body: bytes) -> int:
    async with httpx.AsyncClient(timeout=5.0) as client:
        try:
            response = await client.post(
                url, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        except httpx.HTTPError:
            return 0
    return response.status_code


class Callbacks:
    def __init__(
        self, signer: Signer, clock: Clock, sender: Sender, schedule_s: tuple[float, ...]
    ) -> None:
        self.signer = signer
        self.clock = clock
        self.sender = sender
        self.schedule_s = schedule_s
        self.notices: list[PendingNotice] = []
        self._delivering = asyncio.Lock()  # one delivery round at a time: each notice once
        self._wake = asyncio.Event()

    def queue(self, url: str, event_type: str, plaintext: dict[str, Any]) -> None:
        notify_id = secrets.token_hex(18)
        body = self.signer.notification_body(event_type, plaintext, notify_id)
        self.notices.append(
            PendingNotice(notify_id, url, body, str(plaintext.get("out_trade_no") or ""))
        )
        self._wake.set()

    async def deliver_due(self) -> int:
        """Deliver every callback whose time has come; return how many were acknowledged.

        Rounds never overlap (``pay`` delivers at once while the background loop, woken by the
        same notice, may be delivering too): a notice is sent once, and sent again only when it
        was not acknowledged, on the retry schedule, as WeChat does."""
        async with self._delivering:
            now = self.clock.now()
            due = [n for n in self.notices if not n.delivered and n.next_at <= now]
            acknowledged = 0
            for notice in due:
                acknowledged += await self._attempt(notice, now)
            return acknowledged

    async def _attempt(self, notice: PendingNotice, now: datetime) -> int:
        """One delivery; 1 when acknowledged, else the next attempt is scheduled."""
        headers = self.signer.sign_headers(notice.body)  # re-signed for every attempt
        try:
            status = await self.sender(notice.url, headers, notice.body)
        except Exception:  # a broken receiver is an undelivered callback
            log.exception("callback delivery failed")
            status = 0
        notice.statuses.append(status)
        notice.attempts += 1
        if 200 <= status < 300:
            notice.delivered = True
            return 1
        if notice.attempts > len(self.schedule_s):
            notice.delivered = True  # WeChat gives up after the schedule (24h4m)
            log.warning(
                "callback %s abandoned after %s attempts", notice.notify_id, notice.attempts
            )
        else:
            notice.next_at = now + timedelta(seconds=self.schedule_s[notice.attempts - 1])
        return 0

    async def run(self, poll_s: float = 1.0) -> None:
        """Deliver callbacks forever (standalone server and the embedded default)."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("paysim delivery loop")
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_s)
