"""Daily reconciliation (对账): the gateway's trade bill of a day against our orders and refunds.

The bill (``GET /v3/bill/tradebill``, available from about 10:00 the next day) lists each
successful payment and refund of the day in CSV, every field prefixed with a backtick and
amounts in yuan. Compared both ways:

- ``missing``: paid here (or refunded here) that day, absent from the bill;
- ``extra``: in the bill, but not paid (or not refunded) here: money received without a
  credited order, to complete (补单) or refund;
- ``mismatched``: in both, with a different amount or transaction id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.clock import CHINA_TZ
from backend.container import Container
from backend.payments.models import (
    OrderStatus,
    PaymentOrder,
    PaymentRefund,
    ReconciliationRun,
    RefundStatus,
)
from backend.payments.runtime import runtime

PAID_STATES = (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.LATE_PAID)


class BillFormatError(Exception):
    pass


@dataclass(frozen=True)
class BillRow:
    kind: str  # "payment" or "refund"
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    out_refund_no: str = ""


def _fen(text: str) -> int:
    try:
        value = Decimal(text) * 100
    except InvalidOperation as exc:
        raise BillFormatError(f"amount {text!r}") from exc
    if value != value.to_integral_value():
        raise BillFormatError(f"amount {text!r}")
    return int(value)


def parse_bill(text: str) -> list[BillRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0] != "交易时间":
        raise BillFormatError("header")
    col = {name: i for i, name in enumerate(header)}
    needed = ("微信订单号", "商户订单号", "交易状态", "应结订单金额", "商户退款单号", "退款金额")
    if any(name not in col for name in needed):
        raise BillFormatError("columns")
    rows: list[BillRow] = []
    for raw in reader:
        if not raw or raw[0].startswith("总交易单数"):
            break
        cells = [cell.lstrip("`").strip() for cell in raw]
        state = cells[col["交易状态"]]
        common = {
            "out_trade_no": cells[col["商户订单号"]],
            "transaction_id": cells[col["微信订单号"]],
        }
        if state == "SUCCESS":
            rows.append(BillRow("payment", amount_fen=_fen(cells[col["应结订单金额"]]), **common))
        elif state == "REFUND":
            rows.append(
                BillRow(
                    "refund",
                    amount_fen=_fen(cells[col["退款金额"]]),
                    out_refund_no=cells[col["商户退款单号"]],
                    **common,
                )
            )
    return rows


@dataclass
class Report:
    bill_date: date
    bill_payments: int = 0
    bill_refunds: int = 0
    local_payments: int = 0
    local_refunds: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)

    def summary(self) -> dict[str, Any]:
        return {
            "bill_date": self.bill_date.isoformat(),
            "bill_payments": self.bill_payments,
            "bill_refunds": self.bill_refunds,
            "local_payments": self.local_payments,
            "local_refunds": self.local_refunds,
            "missing": len(self.missing),
            "extra": len(self.extra),
            "mismatched": len(self.mismatched),
        }

    def describe(self) -> str:
        s = self.summary()
        lines = [
            f"{s['bill_date']} 对账：账单支付 {s['bill_payments']} 笔、"
            f"退款 {s['bill_refunds']} 笔；"
            f"本地支付 {s['local_payments']} 笔、退款 {s['local_refunds']} 笔",
            f"本地有账单无（missing）{s['missing']}，账单有本地无（extra）{s['extra']}，"
            f"金额或流水号不符（mismatched）{s['mismatched']}",
        ]
        for kind in ("missing", "extra", "mismatched"):
            for item in getattr(self, kind):
                lines.append(f"  {kind}: {item}")
        return "\n".join(lines)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, CHINA_TZ)
    return start, start + timedelta(days=1)


async def reconcile(c: Container, day: date) -> Report:
    """Compare the gateway's bill of ``day`` with the payments and refunds recorded locally,
    and keep the run (its summary and every discrepancy)."""
    bill = parse_bill(await runtime(c).gateway.trade_bill(day))
    paid, refunds = await _local_records(day)
    report = Report(bill_date=day, local_payments=len(paid), local_refunds=len(refunds))
    for row in bill:
        if row.kind == "payment":
            report.bill_payments += 1
            await _check_payment(report, row, paid.get(row.out_trade_no))
        else:
            report.bill_refunds += 1
            _check_refund(report, row, refunds.get(row.out_refund_no))
    _report_missing(report, bill, paid, refunds)
    await _keep(c, report)
    return report


async def _local_records(day: date) -> tuple[dict[str, PaymentOrder], dict[str, PaymentRefund]]:
    """The orders paid and the refunds that succeeded on ``day`` (local time), by number."""
    start, end = _day_bounds(day)
    paid = {
        o.out_trade_no: o
        for o in await PaymentOrder.filter(
            status__in=PAID_STATES, paid_at__gte=start, paid_at__lt=end
        )
    }
    refunds = {
        r.out_refund_no: r
        for r in await PaymentRefund.filter(
            status=RefundStatus.SUCCESS, succeeded_at__gte=start, succeeded_at__lt=end
        )
    }
    return paid, refunds


async def _check_payment(report: Report, row: BillRow, order: PaymentOrder | None) -> None:
    """A payment on the bill: extra when not paid here that day, mismatched when its amount
    or transaction differs."""
    if order is None:
        other = await PaymentOrder.get_or_none(out_trade_no=row.out_trade_no)
        report.extra.append(
            {
                "type": "payment",
                "out_trade_no": row.out_trade_no,
                "transaction_id": row.transaction_id,
                "amount_fen": row.amount_fen,
                "local_status": other.status.value if other else None,
            }
        )
    elif order.total_fen != row.amount_fen or order.transaction_id != row.transaction_id:
        report.mismatched.append(
            {
                "type": "payment",
                "out_trade_no": row.out_trade_no,
                "bill_amount_fen": row.amount_fen,
                "local_amount_fen": order.total_fen,
                "bill_transaction_id": row.transaction_id,
                "local_transaction_id": order.transaction_id,
            }
        )


def _check_refund(report: Report, row: BillRow, refund: PaymentRefund | None) -> None:
    """A refund on the bill: extra when it did not succeed here that day, mismatched when its
    amount differs."""
    if refund is None:
        report.extra.append(
            {
                "type": "refund",
                "out_refund_no": row.out_refund_no,
                "out_trade_no": row.out_trade_no,
                "amount_fen": row.amount_fen,
            }
        )
    elif refund.amount_fen != row.amount_fen:
        report.mismatched.append(
            {
                "type": "refund",
                "out_refund_no": row.out_refund_no,
                "bill_amount_fen": row.amount_fen,
                "local_amount_fen": refund.amount_fen,
            }
        )


def _report_missing(
    report: Report,
    bill: list[BillRow],
    paid: dict[str, PaymentOrder],
    refunds: dict[str, PaymentRefund],
) -> None:
    """Payments and refunds recorded here that day that the bill does not list."""
    on_bill_orders = {row.out_trade_no for row in bill if row.kind == "payment"}
    on_bill_refunds = {row.out_refund_no for row in bill if row.kind != "payment"}
    for out_trade_no, order in paid.items():
        if out_trade_no not in on_bill_orders:
            report.missing.append(
                {"type": "payment", "out_trade_no": out_trade_no, "amount_fen": order.total_fen}
            )
    for out_refund_no, refund in refunds.items():
        if out_refund_no not in on_bill_refunds:
            report.missing.append(
                {"type": "refund", "out_refund_no": out_refund_no, "amount_fen": refund.amount_fen}
            )


async def _keep(c: Container, report: Report) -> None:
    await ReconciliationRun.create(
        bill_date=report.bill_date,
        created_at=c.clock.now(),
        summary=report.summary(),
        discrepancies=[
            {"kind": kind, **item}
            for kind in ("missing", "extra", "mismatched")
            for item in getattr(report, kind)
        ],
    )
