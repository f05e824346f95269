"""The API v3 endpoints the simulator answers, from an HTTP request to the signed answer:
prepay, query, close, refund and refund query, the trade bill and its download, and the
simulator's own ``POST /sim/pay/{out_trade_no}`` ("the payer pays")."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from backend.clock import CHINA_TZ
from backend.payments.simulator.bill import bill_csv
from backend.payments.simulator.signing import Answer
from backend.payments.simulator.state import Refused, refund_json, transaction_json

if TYPE_CHECKING:
    from backend.payments.simulator.paysim import PaySimulator

TRANSACTIONS = "/v3/pay/transactions/"
BY_OUT_TRADE_NO = "/v3/pay/transactions/out-trade-no/"
REFUNDS = "/v3/refund/domestic/refunds"


async def route(
    sim: PaySimulator, method: str, target: str, headers: dict[str, str], body: bytes
) -> Answer:
    parts = urlsplit(target)
    path, query = parts.path, parse_qs(parts.query)
    if method == "POST" and path.startswith("/sim/pay/"):
        return await _sim_pay(sim, path.removeprefix("/sim/pay/"))
    if path == "/v3/billdownload/file":
        return _download(sim, query, method, target, headers)
    rejected = sim.signer.check_merchant(method, target, headers, body)
    if rejected:
        return rejected
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        return sim.signer.error(400, "PARAM_ERROR", "请求体不是有效的 JSON")
    async with sim.lock:
        try:
            return _merchant_api(sim, method, path, query, payload)
        except Refused as no:
            return sim.signer.error(no.status, no.code, no.message)


def _merchant_api(
    sim: PaySimulator, method: str, path: str, query: dict[str, list[str]], p: dict[str, Any]
) -> Answer:
    if method == "POST" and path in (TRANSACTIONS + "jsapi", TRANSACTIONS + "native"):
        return _prepay(sim, path.rsplit("/", 1)[1], p)
    if method == "GET" and path.startswith(BY_OUT_TRADE_NO):
        return sim.signer.answer(200, transaction_json(sim.book.order(path.rsplit("/", 1)[1])))
    if method == "POST" and path.startswith(BY_OUT_TRADE_NO) and path.endswith("/close"):
        sim.book.close(path.split("/")[-2])
        return sim.signer.answer(204, None)
    if method == "POST" and path == REFUNDS:
        return _refund(sim, p)
    if method == "GET" and path.startswith(REFUNDS + "/"):
        return sim.signer.answer(200, refund_json(sim.book.refund_of(path.rsplit("/", 1)[1])))
    if method == "GET" and path == "/v3/bill/tradebill":
        return _tradebill(sim, query)
    return sim.signer.error(404, "NOT_FOUND", "接口不存在")


def _prepay(sim: PaySimulator, method: str, p: dict[str, Any]) -> Answer:
    order = sim.book.prepay(method, p)
    if method == "jsapi":
        return sim.signer.answer(200, {"prepay_id": order.prepay_id})
    code_url = f"weixin://wxpay/bizpayurl?pr={order.prepay_id[2:14]}"
    return sim.signer.answer(200, {"code_url": code_url})


def _refund(sim: PaySimulator, p: dict[str, Any]) -> Answer:
    refund, new = sim.book.refund(p)
    answer = sim.signer.answer(200, refund_json(refund))  # a new one is accepted: PROCESSING
    if new:
        sim.book.settle_refund(refund)
        plain = refund_json(refund)
        plain.update(mchid=sim.mchid, refund_status=plain.pop("status"))
        sim.callbacks.queue(refund.notify_url, "REFUND.SUCCESS", plain)
    return answer


def _tradebill(sim: PaySimulator, query: dict[str, list[str]]) -> Answer:
    try:
        day = date.fromisoformat(query["bill_date"][0])
    except (KeyError, ValueError):
        return sim.signer.error(400, "PARAM_ERROR", "bill_date 格式错误")
    if day >= sim.clock.now().astimezone(CHINA_TZ).date():
        return sim.signer.error(400, "NO_STATEMENT_EXIST", "账单尚未生成")
    content = bill_csv(sim.book.orders, sim.book.refunds.values(), day)
    token = secrets.token_urlsafe(16)
    sim.bills[token] = content
    return sim.signer.answer(
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(content).hexdigest(),
            "download_url": f"{sim.base_url}/v3/billdownload/file?token={token}",
        },
    )


def _download(
    sim: PaySimulator,
    query: dict[str, list[str]],
    method: str,
    target: str,
    headers: dict[str, str],
) -> Answer:
    rejected = sim.signer.check_merchant(method, target, headers, b"")
    if rejected:
        return rejected
    content = sim.bills.pop((query.get("token") or [""])[0], None)  # single use
    if content is None:
        return 404, {}, b""
    return 200, {"Content-Type": "text/plain; charset=utf-8"}, content  # not signed


async def _sim_pay(sim: PaySimulator, out_trade_no: str) -> Answer:
    try:
        order = await sim.pay(out_trade_no)
    except KeyError:
        return sim.signer.error(404, "ORDER_NOT_EXIST", "订单不存在")
    except ValueError as exc:
        return sim.signer.error(400, "INVALID_REQUEST", str(exc))
    return sim.signer.answer(200, transaction_json(order))
