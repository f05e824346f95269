"""The simulator's orders and refunds, and what WeChat lets happen to them: prepay (the same
out_trade_no again is the same prepay), pay, close, refund (the same out_refund_no refunds
once). A refusal is :class:`Refused` with WeChat's status and code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.clock import CHINA_TZ, Clock

PAID = ("SUCCESS", "REFUND")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
    notify_url: str
    status: str = "PROCESSING"
    success_time: datetime | None = None


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def transaction_json(order: SimOrder) -> dict[str, Any]:
    """The order as WeChat's query answer and payment callback resource show it."""
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
    if order.trade_state in PAID:
        data.update(
            transaction_id=order.transaction_id,
            bank_type="OTHERS",
            success_time=_local(order.success_time),  # type: ignore[arg-type]
            payer={"openid": order.openid or ""},
        )
        data["amount"].update(payer_total=order.total_fen, payer_currency="CNY")
    return data


def refund_json(refund: SimRefund) -> dict[str, Any]:
    """The refund as WeChat's refund answer shows it."""
    data: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": _local(refund.created_at),
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
        data["success_time"] = _local(refund.success_time)
    return data


class TradeBook:
    def __init__(self, *, mchid: str, appid: str, clock: Clock) -> None:
        self.mchid, self.appid, self.clock = mchid, appid, clock
        self.orders: dict[str, SimOrder] = {}
        self.refunds: dict[str, SimRefund] = {}

    def prepay(self, method: str, p: dict[str, Any]) -> SimOrder:
        try:
            out_trade_no = str(p["out_trade_no"])
            total = int(p["amount"]["total"])
            openid = (p.get("payer") or {}).get("openid")
            if p["mchid"] != self.mchid or p["appid"] != self.appid:
                raise Refused(400, "MCH_NOT_EXISTS", "商户号或 appid 不正确")
            if method == "jsapi" and not openid:
                raise Refused(400, "PARAM_ERROR", "缺少 payer.openid")
            if total <= 0 or not str(p["notify_url"]).startswith("http") or "?" in p["notify_url"]:
                raise Refused(400, "PARAM_ERROR", "参数错误")
        except (KeyError, TypeError, ValueError):
            raise Refused(400, "PARAM_ERROR", "参数错误") from None
        existing = self.orders.get(out_trade_no)
        if existing is not None:
            if existing.trade_state == "SUCCESS":
                raise Refused(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise Refused(400, "ORDER_CLOSED", "该订单已关闭")
            if existing.total_fen != total or existing.method != method:
                raise Refused(400, "INVALID_REQUEST", "订单号重复且参数不一致")
            return existing  # the same out_trade_no again: the same prepay (no double payment)
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
        return order

    def order(self, out_trade_no: str) -> SimOrder:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise Refused(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def pay(self, out_trade_no: str) -> SimOrder:
        """The payer confirms in WeChat. KeyError: no such order; ValueError: not payable."""
        order = self.orders.get(out_trade_no)
        if order is None:
            raise KeyError(out_trade_no)
        if order.trade_state != "NOTPAY":
            raise ValueError(f"order is {order.trade_state}")
        order.trade_state = "SUCCESS"
        order.transaction_id = "4200" + secrets.token_hex(12)[:24]
        order.success_time = self.clock.now()
        return order

    def close(self, out_trade_no: str) -> None:
        order = self.order(out_trade_no)
        if order.trade_state in PAID:
            raise Refused(400, "ORDERPAID", "订单已支付，不能关闭")
        order.trade_state = "CLOSED"

    def refund(self, p: dict[str, Any]) -> tuple[SimRefund, bool]:
        """The refund of this out_refund_no, and whether it is new (accepted: PROCESSING)."""
        try:
            out_refund_no = str(p["out_refund_no"])
            refund_fen = int(p["amount"]["refund"])
            total_fen = int(p["amount"]["total"])
            order = self.orders.get(str(p["out_trade_no"]))
        except (KeyError, TypeError, ValueError):
            raise Refused(400, "PARAM_ERROR", "参数错误") from None
        existing = self.refunds.get(out_refund_no)
        if existing is not None:  # the same out_refund_no refunds once: answer the first
            if existing.refund_fen != refund_fen:
                raise Refused(400, "INVALID_REQUEST", "退款单号重复且金额不一致")
            return existing, False
        if order is None or order.trade_state not in PAID:
            raise Refused(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
        if total_fen != order.total_fen or refund_fen <= 0:
            raise Refused(400, "INVALID_REQUEST", "金额参数错误")
        if refund_fen > order.total_fen - order.refunded_fen:
            raise Refused(400, "INVALID_REQUEST", "退款金额超过订单可退金额")
        refund = SimRefund(
            out_refund_no=out_refund_no,
            refund_id="5030" + secrets.token_hex(12)[:24],
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id or "",
            refund_fen=refund_fen,
            total_fen=total_fen,
            reason=str(p.get("reason") or ""),
            created_at=self.clock.now(),
            notify_url=str(p.get("notify_url") or order.notify_url),
        )
        self.refunds[out_refund_no] = refund
        order.refunded_fen += refund_fen
        order.trade_state = "REFUND"
        return refund, True

    def settle_refund(self, refund: SimRefund) -> None:
        """The money goes back at once in the simulator; the result comes by notification."""
        refund.status = "SUCCESS"
        refund.success_time = self.clock.now()

    def refund_of(self, out_refund_no: str) -> SimRefund:
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            raise Refused(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund
