"""The payment gateway interface. One implementation speaks WeChat Pay API v3 over HTTP
(:mod:`backend.payments.wechatpay`); the local simulator (:mod:`backend.payments.simulator`)
answers the same HTTP protocol, so the embedded default and the tests run the real adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from backend.errors import DomainError


class GatewayError(DomainError):
    """The gateway refused a request, or could not be reached; nothing was decided locally."""

    status = 502
    code = "PAYMENT_GATEWAY_ERROR"
    message = "支付渠道暂时不可用，请稍后重试"

    def __init__(self, gateway_code: str = "", message: str | None = None) -> None:
        super().__init__(message, gateway_code=gateway_code)
        self.gateway_code = gateway_code


# Trade states of WeChat Pay (查询订单 trade_state)
SUCCESS = "SUCCESS"
REFUND = "REFUND"
NOTPAY = "NOTPAY"
CLOSED = "CLOSED"
REVOKED = "REVOKED"
USERPAYING = "USERPAYING"
PAYERROR = "PAYERROR"


@dataclass(frozen=True)
class Transaction:
    """A transaction as WeChat reports it, from a query or a decrypted callback."""

    mchid: str
    appid: str
    out_trade_no: str
    trade_state: str
    transaction_id: str | None
    total_fen: int | None
    success_time: datetime | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transaction:
        amount = data.get("amount") or {}
        total = amount.get("total") if isinstance(amount, dict) else None
        success = data.get("success_time")
        return cls(
            mchid=str(data.get("mchid") or ""),
            appid=str(data.get("appid") or ""),
            out_trade_no=str(data.get("out_trade_no") or ""),
            trade_state=str(data.get("trade_state") or ""),
            transaction_id=data.get("transaction_id") or None,
            total_fen=total if isinstance(total, int) and not isinstance(total, bool) else None,
            success_time=datetime.fromisoformat(success) if isinstance(success, str) else None,
            raw=data,
        )


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    refund_id: str | None
    status: str  # SUCCESS, CLOSED, PROCESSING, ABNORMAL
    refund_fen: int | None
    success_time: datetime | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefundResult:
        amount = data.get("amount") or {}
        refund = amount.get("refund") if isinstance(amount, dict) else None
        success = data.get("success_time")
        status = data.get("status") or data.get("refund_status") or ""
        return cls(
            out_refund_no=str(data.get("out_refund_no") or ""),
            refund_id=data.get("refund_id") or None,
            status=str(status),
            refund_fen=refund if isinstance(refund, int) else None,
            success_time=datetime.fromisoformat(success) if isinstance(success, str) else None,
            raw=data,
        )


@dataclass(frozen=True)
class Prepay:
    """JSAPI: ``prepay_id`` and the signed ``wx.requestPayment`` parameters; Native: code_url."""

    prepay_id: str | None
    code_url: str | None
    pay_params: dict[str, str] | None


class PaymentGateway(Protocol):
    mchid: str
    appid: str

    async def prepay(
        self,
        *,
        method: str,  # "jsapi" or "native"
        out_trade_no: str,
        description: str,
        total_fen: int,
        openid: str | None,
        notify_url: str,
        time_expire: datetime,
    ) -> Prepay: ...

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        """Fresh signed ``wx.requestPayment`` parameters for an existing prepay id."""
        ...

    async def query(self, out_trade_no: str) -> Transaction | None:
        """None when the gateway does not know the order."""
        ...

    async def close(self, out_trade_no: str) -> None:
        """Raises :class:`GatewayError` with ``gateway_code == "ORDERPAID"`` if it was paid."""
        ...

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundResult: ...

    async def query_refund(self, out_refund_no: str) -> RefundResult | None: ...

    async def trade_bill(self, bill_date: date) -> str:
        """The day's trade bill (CSV text), its SHA1 checked against the gateway's hash."""
        ...
