"""A local WeChat Pay API v3 gateway (``yibao paysim``): the same HTTP protocol as WeChat.

It verifies the merchant's request signatures, signs its answers and callbacks with its own
platform RSA key (``Wechatpay-Signature``/``-Timestamp``/``-Nonce``/``-Serial``), encrypts
callback resources with AES-256-GCM under the API v3 key, redelivers a callback that was not
answered with 2xx on WeChat's schedule (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h,
3h, 6h, 6h; tests shorten it by scaling or by moving the clock), and serves a daily trade bill
in WeChat's CSV format (backtick-prefixed fields, amounts in yuan).

The core, :meth:`PaySimulator.handle`, is a pure request → response function: in-process it is
mounted as an ``httpx`` transport under the real adapter (:meth:`transport`); ``yibao paysim``
serves it over HTTP. "The user pays" is :meth:`pay` (or ``POST /sim/pay/{out_trade_no}``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import CHINA_TZ, Clock
from backend.payments import protocol

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

# (status, headers, body) → the simulator answers like an HTTP server
Answer = tuple[int, dict[str, str], bytes]
Sender = Callable[[str, dict[str, str], bytes], Awaitable[int]]

BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


@dataclass
class SimOrder:
    appid: str
    mchid: str
    out_trade_no: str
    description: str
    total_fen: int
    notify_url: str
    method: str
    openid: str | None
    prepay_id: str
    created_at: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    refunded_fen: int = 0


@dataclass
class SimRefund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    reason: str
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


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
        self.apiv3_key = apiv3_key
        self.platform_key = platform_key
        self.platform_serial = platform_serial
        self._merchant_key = merchant_public_key
        self._merchant_serial = merchant_serial
        self.clock = clock
        self.sender = sender
        self.schedule_s = schedule_s
        self.base_url = base_url.rstrip("/")
        self.orders: dict[str, SimOrder] = {}
        self.refunds: dict[str, SimRefund] = {}
        self.notices: list[PendingNotice] = []
        self._bills: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._delivering = asyncio.Lock()  # one delivery round at a time: each notice once
        self._wake = asyncio.Event()

    # -- signing helpers (also used by tests to build forged variants) --------------------

    def now_s(self) -> int:
        return int(self.clock.now().timestamp())

    def sign_headers(
        self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        return protocol.response_headers(
            self.platform_key,
            self.platform_serial,
            body,
            self.now_s() if timestamp is None else timestamp,
            nonce,
        )

    def notification_body(
        self, event_type: str, plaintext: dict[str, Any], notify_id: str | None = None
    ) -> bytes:
        original = "transaction" if event_type.startswith("TRANSACTION") else "refund"
        summary = "支付成功" if event_type == "TRANSACTION.SUCCESS" else "退款状态变更"
        envelope = {
            "id": notify_id or secrets.token_hex(18),
            "create_time": self.clock.now().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": protocol.encrypt_resource(self.apiv3_key, plaintext, original, original),
        }
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    def transaction_json(self, order: SimOrder) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": order.appid,
            "mchid": order.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": order.method.upper(),
            "trade_state": order.trade_state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付"}.get(
                order.trade_state, order.trade_state
            ),
            "attach": "",
            "amount": {"total": order.total_fen, "currency": "CNY"},
        }
        if order.trade_state in ("SUCCESS", "REFUND"):
            data.update(
                transaction_id=order.transaction_id,
                bank_type="OTHERS",
                success_time=order.success_time.astimezone(CHINA_TZ).isoformat(  # type: ignore[union-attr]
                    timespec="seconds"
                ),
                payer={"openid": order.openid or ""},
            )
            data["amount"].update(payer_total=order.total_fen, payer_currency="CNY")
        return data

    def refund_json(self, refund: SimRefund) -> dict[str, Any]:
        data: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": refund.created_at.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
            "status": refund.status,
            "amount": {
                "total": refund.total_fen,
                "refund": refund.refund_fen,
                "payer_total": refund.total_fen,
                "payer_refund": refund.refund_fen,
                "currency": "CNY",
            },
        }
        if refund.success_time:
            data["success_time"] = refund.success_time.astimezone(CHINA_TZ).isoformat(
                timespec="seconds"
            )
        return data

    # -- the user's side -----------------------------------------------------------------

    async def pay(self, out_trade_no: str, *, notify: bool = True) -> SimOrder:
        """The payer confirms in WeChat: the order succeeds and a callback is queued."""
        async with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise KeyError(out_trade_no)
            if order.trade_state != "NOTPAY":
                raise ValueError(f"order is {order.trade_state}")
            order.trade_state = "SUCCESS"
            order.transaction_id = "4200" + secrets.token_hex(12)[:24]
            order.success_time = self.clock.now()
            if notify:
                self._queue(order.notify_url, "TRANSACTION.SUCCESS", self.transaction_json(order))
        await self.deliver_due()
        return order

    def _queue(self, url: str, event_type: str, plaintext: dict[str, Any]) -> None:
        notify_id = secrets.token_hex(18)
        body = self.notification_body(event_type, plaintext, notify_id)
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
            return await self._deliver_round()

    async def _deliver_round(self) -> int:
        now = self.clock.now()
        due = [n for n in self.notices if not n.delivered and n.next_at <= now]
        acknowledged = 0
        for notice in due:
            headers = self.sign_headers(notice.body)  # re-signed for every attempt, like WeChat
            try:
                status = await self.sender(notice.url, headers, notice.body)
            except Exception:  # a broken receiver is an undelivered callback
                log.exception("callback delivery failed")
                status = 0
            notice.statuses.append(status)
            notice.attempts += 1
            if 200 <= status < 300:
                notice.delivered = True
                acknowledged += 1
            elif notice.attempts > len(self.schedule_s):
                notice.delivered = True  # WeChat gives up after the schedule (24h4m)
                log.warning(
                    "callback %s abandoned after %s attempts", notice.notify_id, notice.attempts
                )
            else:
                notice.next_at = now + timedelta(seconds=self.schedule_s[notice.attempts - 1])
        return acknowledged

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

    # -- the HTTP protocol ---------------------------------------------------------------

    def _answer(self, status: int, payload: dict[str, Any] | None) -> Answer:
        body = (
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            if payload is not None
            else b""
        )
        headers = self.sign_headers(body)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return status, headers, body

    def _error(self, status: int, code: str, message: str) -> Answer:
        return self._answer(status, {"code": code, "message": message})

    def _check_merchant_signature(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Answer | None:
        auth = headers.get("authorization") or headers.get("Authorization") or ""
        try:
            parts = protocol.parse_authorization(auth)
        except protocol.SignatureInvalid:
            return self._error(401, "SIGN_ERROR", "Authorization 头格式错误")
        if parts["mchid"] != self.mchid:
            return self._error(401, "SIGN_ERROR", "商户号不匹配")
        if parts["serial_no"] != self._merchant_serial:
            return self._error(401, "SIGN_ERROR", "商户证书序列号错误")
        if not parts["timestamp"].isdigit() or abs(self.now_s() - int(parts["timestamp"])) > 300:
            return self._error(401, "SIGN_ERROR", "请求时间戳已过期")
        message = protocol.request_message(
            method, target, parts["timestamp"], parts["nonce_str"], body.decode("utf-8", "replace")
        )
        if not protocol.verify(self._merchant_key, message, parts["signature"]):
            return self._error(401, "SIGN_ERROR", "签名错误")
        return None

    async def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if method == "POST" and path.startswith("/sim/pay/"):
            return await self._sim_pay(path.removeprefix("/sim/pay/"))
        if path == "/v3/billdownload/file":
            return self._download(query, method, target, headers)
        rejected = self._check_merchant_signature(method, target, headers, body)
        if rejected:
            return rejected
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return self._error(400, "PARAM_ERROR", "请求体不是有效的 JSON")
        async with self._lock:
            if method == "POST" and path in (
                "/v3/pay/transactions/jsapi",
                "/v3/pay/transactions/native",
            ):
                return self._prepay(path.rsplit("/", 1)[1], payload)
            if method == "GET" and path.startswith("/v3/pay/transactions/out-trade-no/"):
                return self._query(path.rsplit("/", 1)[1])
            if (
                method == "POST"
                and path.startswith("/v3/pay/transactions/out-trade-no/")
                and path.endswith("/close")
            ):
                return self._close(path.split("/")[-2])
            if method == "POST" and path == "/v3/refund/domestic/refunds":
                return self._refund(payload)
            if method == "GET" and path.startswith("/v3/refund/domestic/refunds/"):
                return self._query_refund(path.rsplit("/", 1)[1])
            if method == "GET" and path == "/v3/bill/tradebill":
                return self._tradebill(query)
        return self._error(404, "NOT_FOUND", "接口不存在")

    def _prepay(self, method: str, p: dict[str, Any]) -> Answer:
        try:
            out_trade_no = str(p["out_trade_no"])
            total = int(p["amount"]["total"])
            openid = (p.get("payer") or {}).get("openid")
            if p["mchid"] != self.mchid or p["appid"] != self.appid:
                return self._error(400, "MCH_NOT_EXISTS", "商户号或 appid 不正确")
            if method == "jsapi" and not openid:
                return self._error(400, "PARAM_ERROR", "缺少 payer.openid")
            if total <= 0 or not str(p["notify_url"]).startswith("http") or "?" in p["notify_url"]:
                return self._error(400, "PARAM_ERROR", "参数错误")
        except (KeyError, TypeError, ValueError):
            return self._error(400, "PARAM_ERROR", "参数错误")
        existing = self.orders.get(out_trade_no)
        if existing is not None:
            if existing.trade_state == "SUCCESS":
                return self._error(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                return self._error(400, "ORDER_CLOSED", "该订单已关闭")
            if existing.total_fen != total or existing.method != method:
                return self._error(400, "INVALID_REQUEST", "订单号重复且参数不一致")
            order = existing  # the same out_trade_no again: the same prepay (no double payment)
        else:
            order = SimOrder(
                appid=self.appid,
                mchid=self.mchid,
                out_trade_no=out_trade_no,
                description=str(p.get("description") or ""),
                total_fen=total,
                notify_url=str(p["notify_url"]),
                method=method,
                openid=openid,
                prepay_id="wx" + secrets.token_hex(16),
                created_at=self.clock.now(),
            )
            self.orders[out_trade_no] = order
        if method == "jsapi":
            return self._answer(200, {"prepay_id": order.prepay_id})
        return self._answer(
            200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order.prepay_id[2:14]}"}
        )

    def _query(self, out_trade_no: str) -> Answer:
        order = self.orders.get(out_trade_no)
        if order is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(200, self.transaction_json(order))

    def _close(self, out_trade_no: str) -> Answer:
        order = self.orders.get(out_trade_no)
        if order is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.trade_state in ("SUCCESS", "REFUND"):
            return self._error(400, "ORDERPAID", "订单已支付，不能关闭")
        order.trade_state = "CLOSED"
        return self._answer(204, None)

    def _refund(self, p: dict[str, Any]) -> Answer:
        try:
            out_refund_no = str(p["out_refund_no"])
            refund_fen = int(p["amount"]["refund"])
            total_fen = int(p["amount"]["total"])
            order = self.orders.get(str(p["out_trade_no"]))
        except (KeyError, TypeError, ValueError):
            return self._error(400, "PARAM_ERROR", "参数错误")
        existing = self.refunds.get(out_refund_no)
        if existing is not None:  # the same out_refund_no refunds once: answer the first
            if existing.refund_fen != refund_fen:
                return self._error(400, "INVALID_REQUEST", "退款单号重复且金额不一致")
            return self._answer(200, self.refund_json(existing))
        if order is None or order.trade_state not in ("SUCCESS", "REFUND"):
            return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
        if total_fen != order.total_fen or refund_fen <= 0:
            return self._error(400, "INVALID_REQUEST", "金额参数错误")
        if refund_fen > order.total_fen - order.refunded_fen:
            return self._error(400, "INVALID_REQUEST", "退款金额超过订单可退金额")
        refund = SimRefund(
            out_refund_no=out_refund_no,
            refund_id="5030" + secrets.token_hex(12)[:24],
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id or "",
            refund_fen=refund_fen,
            total_fen=total_fen,
            reason=str(p.get("reason") or ""),
            created_at=self.clock.now(),
        )
        self.refunds[out_refund_no] = refund
        order.refunded_fen += refund_fen
        order.trade_state = "REFUND"
        answer = self._answer(200, self.refund_json(refund))  # accepted: PROCESSING
        # The money goes back at once in the simulator; the result comes by notification.
        refund.status = "SUCCESS"
        refund.success_time = self.clock.now()
        notify_url = str(p.get("notify_url") or order.notify_url)
        plain = self.refund_json(refund)
        plain.update(mchid=self.mchid, refund_status=plain.pop("status"))
        self._queue(notify_url, "REFUND.SUCCESS", plain)
        return answer

    def _query_refund(self, out_refund_no: str) -> Answer:
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._answer(200, self.refund_json(refund))

    def bill_csv(self, day: date) -> bytes:
        def local_day(moment: datetime | None) -> date | None:
            return moment.astimezone(CHINA_TZ).date() if moment else None

        def row(cells: list[str]) -> str:
            return ",".join("`" + cell for cell in cells)

        lines = [BILL_HEADER]
        paid_fen = refund_fen = count = 0
        for order in self.orders.values():
            if order.success_time and local_day(order.success_time) == day:
                count += 1
                paid_fen += order.total_fen
                lines.append(
                    row(
                        [
                            order.success_time.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                            order.appid,
                            order.mchid,
                            "0",
                            "",
                            order.transaction_id or "",
                            order.out_trade_no,
                            order.openid or "",
                            order.method.upper(),
                            "SUCCESS",
                            "OTHERS",
                            "CNY",
                            yuan(order.total_fen),
                            "0.00",
                            "0",
                            "0",
                            "0.00",
                            "0.00",
                            "",
                            "",
                            order.description,
                            "",
                            "0.00",
                            "0.00%",
                            yuan(order.total_fen),
                            "0.00",
                            "",
                        ]
                    )
                )
        for refund in self.refunds.values():
            if refund.status == "SUCCESS" and local_day(refund.success_time) == day:
                order = self.orders[refund.out_trade_no]
                count += 1
                refund_fen += refund.refund_fen
                lines.append(
                    row(
                        [
                            refund.success_time.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),  # type: ignore[union-attr]
                            order.appid,
                            order.mchid,
                            "0",
                            "",
                            order.transaction_id or "",
                            order.out_trade_no,
                            order.openid or "",
                            order.method.upper(),
                            "REFUND",
                            "OTHERS",
                            "CNY",
                            "0.00",
                            "0.00",
                            refund.refund_id,
                            refund.out_refund_no,
                            yuan(refund.refund_fen),
                            "0.00",
                            "ORIGINAL",
                            "SUCCESS",
                            order.description,
                            "",
                            "0.00",
                            "0.00%",
                            yuan(order.total_fen),
                            yuan(refund.refund_fen),
                            "",
                        ]
                    )
                )
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        lines.append(
            row(
                [
                    str(count),
                    yuan(paid_fen),
                    yuan(refund_fen),
                    "0.00",
                    "0.00",
                    yuan(paid_fen),
                    yuan(refund_fen),
                ]
            )
        )
        return ("\n".join(lines) + "\n").encode()

    def _tradebill(self, query: dict[str, list[str]]) -> Answer:
        try:
            day = date.fromisoformat(query["bill_date"][0])
        except (KeyError, ValueError):
            return self._error(400, "PARAM_ERROR", "bill_date 格式错误")
        if day >= self.clock.now().astimezone(CHINA_TZ).date():
            return self._error(400, "NO_STATEMENT_EXIST", "账单尚未生成")
        content = self.bill_csv(day)
        token = secrets.token_urlsafe(16)
        self._bills[token] = content
        return self._answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content).hexdigest(),
                "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
            },
        )

    def _download(
        self, query: dict[str, list[str]], method: str, target: str, headers: dict[str, str]
    ) -> Answer:
        rejected = self._check_merchant_signature(method, target, headers, b"")
        if rejected:
            return rejected
        content = self._bills.pop((query.get("token") or [""])[0], None)  # single use
        if content is None:
            return 404, {}, b""
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, content  # not signed

    async def _sim_pay(self, out_trade_no: str) -> Answer:
        try:
            order = await self.pay(out_trade_no)
        except KeyError:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        except ValueError as exc:
            return self._error(400, "INVALID_REQUEST", str(exc))
        return self._answer(200, self.transaction_json(order))

    # -- in-process mounting -------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            target = request.url.raw_path.decode("ascii")
            status, headers, body = await self.handle(
                request.method, target, dict(request.headers), await request.aread()
            )
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(handler)
