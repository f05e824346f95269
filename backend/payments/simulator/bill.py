"""The daily trade bill in WeChat's CSV format: one row per payment and per refund settled on
the day, then the totals; every field backtick-prefixed, amounts in yuan."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from backend.clock import CHINA_TZ
from backend.payments.simulator.state import SimOrder, SimRefund

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
TOTALS_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _row(cells: list[str]) -> str:
    return ",".join("`" + cell for cell in cells)


def _on(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(CHINA_TZ).date() == day


def _trade(order: SimOrder, moment: datetime, state: str) -> list[str]:
    """The columns every row shares: time, the merchant, the order, its type and state."""
    return [
        moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        order.appid,
        order.mchid,
        "0",
        "",
        order.transaction_id or "",
        order.out_trade_no,
        order.openid or "",
        order.method.upper(),
        state,
        "OTHERS",
        "CNY",
    ]


def _payment(order: SimOrder) -> str:
    assert order.success_time is not None  # only paid orders are billed
    total = yuan(order.total_fen)
    cells = [total, "0.00", "0", "0", "0.00", "0.00", "", "", order.description, ""]
    cells += ["0.00", "0.00%", total, "0.00", ""]
    return _row([*_trade(order, order.success_time, "SUCCESS"), *cells])


def _refund(refund: SimRefund, order: SimOrder) -> str:
    assert refund.success_time is not None  # only settled refunds are billed
    amount = yuan(refund.refund_fen)
    cells = ["0.00", "0.00", refund.refund_id, refund.out_refund_no, amount, "0.00", "ORIGINAL"]
    cells += ["SUCCESS", order.description, "", "0.00", "0.00%", yuan(order.total_fen), amount, ""]
    return _row([*_trade(order, refund.success_time, "REFUND"), *cells])


def bill_csv(orders: dict[str, SimOrder], refunds: Iterable[SimRefund], day: date) -> bytes:
    paid = [o for o in orders.values() if o.success_time and _on(o.success_time, day)]
    returned = [r for r in refunds if r.status == "SUCCESS" and _on(r.success_time, day)]
    lines = [HEADER]
    lines += [_payment(order) for order in paid]
    lines += [_refund(refund, orders[refund.out_trade_no]) for refund in returned]
    paid_fen = sum(o.total_fen for o in paid)
    refund_fen = sum(r.refund_fen for r in returned)
    lines.append(TOTALS_HEADER)
    count = str(len(paid) + len(returned))
    totals = [count, yuan(paid_fen), yuan(refund_fen), "0.00", "0.00", yuan(paid_fen)]
    lines.append(_row([*totals, yuan(refund_fen)]))
    return ("\n".join(lines) + "\n").encode()
