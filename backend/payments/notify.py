"""The WeChat Pay notification (callback) handler, independent of the web framework.

Steps, each failing closed (nothing changes, a log line without personal data, a non-2xx so
WeChat retries or gives up):

1. signature over the *raw* body with the platform key named by ``Wechatpay-Serial``;
   timestamp within 5 minutes of our clock → else **401**;
2. envelope JSON and ``resource_type`` → else **400**;
3. AES-256-GCM decryption of the resource under the API v3 key → else **400**;
4. business checks: our ``mchid``/``appid`` (else **400**), a known ``out_trade_no`` (else
   **404**), the amount (a mismatch flags the order for review and is acknowledged with
   **200**: it is recorded, and retries could not change it);
5. crediting in one transaction (:func:`backend.payments.crediting.credit`); **204** only after
   the commit; a database failure propagates as **500** and WeChat retries.

Replays are harmless: a re-sent success notification finds the order paid with the same
transaction id and is acknowledged without effect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from backend.container import Container
from backend.payments import gateway as gw
from backend.payments import protocol
from backend.payments.crediting import Credit, credit
from backend.payments.gateway import Transaction
from backend.payments.refunds import on_refund_notification
from backend.payments.runtime import runtime

log = logging.getLogger("yibao.payments.notify")


@dataclass(frozen=True)
class NotifyAnswer:
    status: int
    code: str = "SUCCESS"
    message: str = "成功"

    @property
    def body(self) -> dict[str, str] | None:
        return None if self.status == 204 else {"code": self.code, "message": self.message}


OK = NotifyAnswer(204)
ACK = NotifyAnswer(200)


def _fail(status: int, message: str) -> NotifyAnswer:
    return NotifyAnswer(status, "FAIL", message)


async def handle_notification(
    c: Container, headers: Mapping[str, str], body: bytes
) -> NotifyAnswer:
    rt = runtime(c)
    try:
        protocol.verify_wechatpay(headers, body, rt.platform_keys, c.clock.now().timestamp())
    except protocol.SignatureInvalid as exc:
        log.warning("payment notification rejected: %s", exc.reason)
        return _fail(401, "签名验证失败")
    try:
        envelope = json.loads(body)
        notify_id = str(envelope["id"])[:64]
        event_type = str(envelope["event_type"])
        resource = envelope["resource"]
        if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise ValueError("resource_type")
    except (ValueError, KeyError, TypeError):
        log.warning("payment notification rejected: malformed envelope")
        return _fail(400, "通知格式错误")
    try:
        data = protocol.decrypt_resource(rt.apiv3_key, resource)
    except protocol.DecryptFailed as exc:
        log.error("payment notification %s rejected: decryption failed (%s)", notify_id, exc)
        return _fail(400, "解密失败")

    if event_type.startswith("REFUND."):
        outcome = await on_refund_notification(c, data)
        log.info("refund notification %s: %s", notify_id, outcome)
        if outcome == "merchant_mismatch":
            return _fail(400, "商户号不匹配")
        if outcome == "unknown_refund":
            return _fail(404, "退款单不存在")
        return OK
    if event_type != "TRANSACTION.SUCCESS":
        log.info("payment notification %s: event %s ignored", notify_id, event_type)
        return OK

    tx = Transaction.from_json(data)
    if tx.mchid != rt.mchid or tx.appid != rt.appid:
        log.warning("payment notification %s rejected: merchant or appid mismatch", notify_id)
        return _fail(400, "商户号或应用号不匹配")
    if tx.trade_state != gw.SUCCESS or not tx.transaction_id or tx.total_fen is None:
        log.warning("payment notification %s rejected: not a successful payment", notify_id)
        return _fail(400, "交易状态不是支付成功")
    outcome = await credit(c, tx, notify_id=notify_id, event_type=event_type)
    log.info("payment notification %s for %s: %s", notify_id, tx.out_trade_no, outcome.value)
    if outcome is Credit.UNKNOWN_ORDER:
        return _fail(404, "订单不存在")
    if outcome is Credit.AMOUNT_MISMATCH:
        return ACK  # recorded and flagged for review; a retry could not change it
    return OK
