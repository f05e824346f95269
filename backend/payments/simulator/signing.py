"""The simulator's side of the API v3 signatures: it signs its answers and callbacks with its
platform key, encrypts callback resources under the API v3 key, and verifies that a request
was signed by the merchant."""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import CHINA_TZ, Clock
from backend.payments import protocol

# (status, headers, body) → the simulator answers like an HTTP server
Answer = tuple[int, dict[str, str], bytes]

MAX_CLOCK_SKEW_S = 300  # WeChat refuses a request timestamp further off than five minutes


class Signer:
    def __init__(
        self,
        *,
        mchid: str,
        apiv3_key: bytes,
        platform_key: rsa.RSAPrivateKey,
        platform_serial: str,
        merchant_public_key: rsa.RSAPublicKey,
        merchant_serial: str,
        clock: Clock,
    ) -> None:
        self.mchid = mchid
        self.apiv3_key = apiv3_key
        self.platform_key = platform_key
        self.platform_serial = platform_serial
        self.merchant_key = merchant_public_key
        self.merchant_serial = merchant_serial
        self.clock = clock

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
        """A callback envelope with ``plaintext`` encrypted as its resource."""
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

    def answer(self, status: int, payload: dict[str, Any] | None) -> Answer:
        body = (
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            if payload is not None
            else b""
        )
        headers = self.sign_headers(body)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return status, headers, body

    def error(self, status: int, code: str, message: str) -> Answer:
        return self.answer(status, {"code": code, "message": message})

    def check_merchant(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Answer | None:
        """None when the merchant signed this request; otherwise WeChat's refusal."""
        auth = headers.get("authorization") or headers.get("Authorization") or ""
        try:
            parts = protocol.parse_authorization(auth)
        except protocol.SignatureInvalid:
            return self.error(401, "SIGN_ERROR", "Authorization 头格式错误")
        if parts["mchid"] != self.mchid:
            return self.error(401, "SIGN_ERROR", "商户号不匹配")
        if parts["serial_no"] != self.merchant_serial:
            return self.error(401, "SIGN_ERROR", "商户证书序列号错误")
        timestamp = parts["timestamp"]
        if not timestamp.isdigit() or abs(self.now_s() - int(timestamp)) > MAX_CLOCK_SKEW_S:
            return self.error(401, "SIGN_ERROR", "请求时间戳已过期")
        message = protocol.request_message(
            method, target, timestamp, parts["nonce_str"], body.decode("utf-8", "replace")
        )
        if not protocol.verify(self.merchant_key, message, parts["signature"]):
            return self.error(401, "SIGN_ERROR", "签名错误")
        return None
