"""WeChat Pay API v3 adapter: JSAPI/Native prepay, query, close, refund, refund query and the
daily trade bill, over ``httpx``.

Every request is signed with the merchant private key; every response except the bill file is
verified with the platform key named by ``Wechatpay-Serial`` (a response that does not verify
is treated as a gateway failure, never as an answer). The bill file is not signed by WeChat;
its SHA1 is checked against the hash the signed ``tradebill`` answer gave.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import CHINA_TZ
from backend.payments import protocol
from backend.payments.gateway import GatewayError, Prepay, RefundResult, Transaction

log = logging.getLogger("yibao.payments.wechatpay")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


class WechatPayClient:
    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_serial: str,
        private_key: rsa.RSAPrivateKey,
        platform_keys: Mapping[str, rsa.RSAPublicKey],
        base_url: str,
        now: Callable[[], float],
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.mchid = mchid
        self.appid = appid
        self._serial = merchant_serial
        self._key = private_key
        self._platform_keys = dict(platform_keys)
        self._now = now
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing -----------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload else ""
        auth = protocol.authorization(
            mchid=self.mchid,
            serial=self._serial,
            key=self._key,
            method=method,
            target=path,
            body=body,
            timestamp=int(self._now()),
        )
        headers = {
            "Authorization": auth,
            "Accept": "application/json",
            "User-Agent": "yibao/1 (+wechatpay-v3)",
        }
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, path, content=body.encode() if body else None, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("wechatpay %s %s unreachable: %s", method, path.split("?")[0], exc)
            raise GatewayError("NETWORK") from exc
        raw = response.content
        try:
            protocol.verify_wechatpay(response.headers, raw, self._platform_keys, self._now())
        except protocol.SignatureInvalid as exc:
            # An unsigned answer may come from anything between us and WeChat: not an answer.
            log.error("wechatpay %s %s: response signature invalid (%s)", method, path, exc.reason)
            raise GatewayError("RESPONSE_SIGNATURE_INVALID") from exc
        data: dict[str, Any] = {}
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise GatewayError("RESPONSE_NOT_JSON") from exc
            data = parsed if isinstance(parsed, dict) else {}
        return response.status_code, data

    @staticmethod
    def _fail(status: int, data: dict[str, Any]) -> GatewayError:
        code = str(data.get("code") or f"HTTP_{status}")
        log.warning("wechatpay refused: %s %s", status, code)
        return GatewayError(code)

    # -- the gateway interface -----------------------------------------------------------

    async def prepay(
        self,
        *,
        method: str,
        out_trade_no: str,
        description: str,
        total_fen: int,
        openid: str | None,
        notify_url: str,
        time_expire: datetime,
    ) -> Prepay:
        payload: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "time_expire": rfc3339(time_expire),
            "notify_url": notify_url,
            "amount": {"total": total_fen, "currency": "CNY"},
        }
        if method == "jsapi":
            if not openid:
                raise GatewayError("NO_OPENID", "缺少支付用户标识")
            payload["payer"] = {"openid": openid}
        status, data = await self._call("POST", f"/v3/pay/transactions/{method}", payload)
        if status != 200:
            raise self._fail(status, data)
        if method == "jsapi":
            prepay_id = str(data.get("prepay_id") or "")
            if not prepay_id:
                raise GatewayError("NO_PREPAY_ID")
            return Prepay(prepay_id, None, self.pay_params(prepay_id))
        return Prepay(None, str(data.get("code_url") or ""), None)

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        return protocol.jsapi_params(self._key, self.appid, prepay_id, int(self._now())).as_json()

    async def query(self, out_trade_no: str) -> Transaction | None:
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no)}?mchid={self.mchid}"
        status, data = await self._call("GET", path)
        if status == 404 or data.get("code") == "ORDER_NOT_EXIST":
            return None
        if status != 200:
            raise self._fail(status, data)
        return Transaction.from_json(data)

    async def close(self, out_trade_no: str) -> None:
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no)}/close"
        status, data = await self._call("POST", path, {"mchid": self.mchid})
        if status not in (200, 204):
            raise self._fail(status, data)

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundResult:
        payload = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": reason[:80],
            "notify_url": notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        status, data = await self._call("POST", "/v3/refund/domestic/refunds", payload)
        if status != 200:
            raise self._fail(status, data)
        return RefundResult.from_json(data)

    async def query_refund(self, out_refund_no: str) -> RefundResult | None:
        status, data = await self._call(
            "GET", f"/v3/refund/domestic/refunds/{quote(out_refund_no)}"
        )
        if status == 404 or data.get("code") == "RESOURCE_NOT_EXISTS":
            return None
        if status != 200:
            raise self._fail(status, data)
        return RefundResult.from_json(data)

    async def trade_bill(self, bill_date: date) -> str:
        status, data = await self._call(
            "GET", f"/v3/bill/tradebill?bill_date={bill_date.isoformat()}&bill_type=ALL"
        )
        if status != 200:
            raise self._fail(status, data)
        url = str(data.get("download_url") or "")
        expected = str(data.get("hash_value") or "").lower()
        if not url or data.get("hash_type") != "SHA1" or not expected:
            raise GatewayError("BILL_ANSWER_INVALID")
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        auth = protocol.authorization(
            mchid=self.mchid,
            serial=self._serial,
            key=self._key,
            method="GET",
            target=target,
            body="",
            timestamp=int(self._now()),
        )
        try:
            # The file answer is not signed by WeChat: its SHA1 is the check.
            response = await self._http.get(url, headers={"Authorization": auth})
        except httpx.HTTPError as exc:
            raise GatewayError("NETWORK") from exc
        if response.status_code != 200:
            raise GatewayError(f"HTTP_{response.status_code}")
        actual = hashlib.sha1(response.content).hexdigest()
        if not hmac.compare_digest(actual, expected):
            raise GatewayError("BILL_HASH_MISMATCH")
        return response.content.decode("utf-8-sig")
