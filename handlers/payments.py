"""Premium payment: orders, the WeChat Pay notification endpoint, refunds and receipts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json
from sanic_ext.extensions.openapi import openapi

from backend.errors import NotFound
from backend.identity.models import Role
from backend.payments import access, orders, receipts, refunds
from backend.payments.models import PaymentReceipt
from backend.payments.notify import handle_notification
from backend.payments.results import Receipt, Refund, VerifiedReceipt
from handlers.contract import errors, responds
from handlers.idempotency import idempotent
from handlers.request import body, container, principal, query, requires
from handlers.responses.payments import (
    CreatedOrderOut,
    GetReceiptOut,
    OrderListOut,
    OrderOut,
    RefundOrderOut,
    VerifyReceiptOut,
    WechatNotifyOut,
)
from handlers.schemas import JsonInt, StrictId

bp = Blueprint("payments", url_prefix="/payments")

PAYERS = (Role.CITIZEN, Role.STATION_STAFF)
READERS = (Role.CITIZEN, Role.STATION_STAFF, Role.SUPERVISOR, Role.ADMIN)
REFUNDERS = (Role.SUPERVISOR, Role.ADMIN)
IDEMPOTENCY_HEADER = "Idempotency-Key"


class CreateOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: JsonInt = Field(ge=2000, le=2100, description="保险年度")
    person_ids: list[StrictId] = Field(min_length=1, max_length=10, description="参保人员编号")


class OrderQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh: bool = Field(default=False, description="向支付渠道查询最新状态（查单）")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=2000, le=2100)


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    person_ids: list[StrictId] | None = Field(
        default=None, min_length=1, max_length=10, description="退费人员；不填则全额退费"
    )
    reason: str = Field(min_length=2, max_length=80, description="退费原因")


class VerifyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    number: str = Field(min_length=4, max_length=32)
    code: str = Field(min_length=4, max_length=16)


@bp.post("/orders")
@openapi.summary("创建缴费订单（需 Idempotency-Key；同一人员同一年度只有一笔待支付订单）")
@requires(*PAYERS)
@idempotent(required=True)
@body(CreateOrder)
@errors(404, "PERSON_NOT_FOUND")
@errors(409, "ALREADY_ENROLLED", "ORDER_ALREADY_OPEN")
@errors(422, "COLLECTION_PERIOD_CLOSED", "PREMIUM_NOT_PUBLISHED")
@responds(CreatedOrderOut, status=201)
@responds(OrderOut)
async def create_order(request: Request, body: CreateOrder) -> HTTPResponse:
    result = await orders.create_order(
        container(request),
        principal(request),
        year=body.year,
        person_ids=body.person_ids,
        idempotency_key=request.headers[IDEMPOTENCY_HEADER],
    )
    return json(result.view, status=201 if result.created else 200)


@bp.get("/orders")
@openapi.summary("我创建的缴费订单")
@requires(*READERS)
@query(ListQuery)
@responds(OrderListOut)
async def list_orders(request: Request, query: ListQuery) -> HTTPResponse:
    return json(await orders.list_orders(container(request), principal(request), year=query.year))


@bp.get("/orders/<order_id:int>")
@openapi.summary("缴费订单详情；refresh=true 时向支付渠道查单")
@requires(*READERS)
@query(OrderQuery)
@errors(404, "ORDER_NOT_FOUND")
@responds(OrderOut)
async def get_order(request: Request, order_id: int, query: OrderQuery) -> HTTPResponse:
    view = await orders.get_order(
        container(request), principal(request), order_id, refresh=query.refresh
    )
    return json(view)


@bp.post("/orders/<order_id:int>/cancel")
@openapi.summary("取消待支付订单（先在支付渠道关单）")
@requires(*PAYERS)
@responds(OrderOut)
async def cancel_order(request: Request, order_id: int) -> HTTPResponse:
    return json(await orders.cancel_order(container(request), principal(request), order_id))


@bp.get("/orders/<order_id:int>/receipt")
@openapi.summary("缴费凭证")
@requires(*READERS)
@responds(GetReceiptOut)
async def get_receipt(request: Request, order_id: int) -> Receipt:
    c = container(request)
    order = await access.visible_order(c, principal(request), order_id)
    receipt = await PaymentReceipt.get_or_none(order_id=order.id)
    if receipt is None:
        raise NotFound("该订单尚未缴费成功，暂无缴费凭证", code="RECEIPT_NOT_FOUND")
    return await receipts.receipt_view(c, receipt, order)


@bp.get("/receipts/verify")
@openapi.summary("核验缴费凭证（凭证号 + 校验码）")
@query(VerifyQuery)
@errors(404, "RECEIPT_NOT_FOUND")
@responds(VerifyReceiptOut)
async def verify_receipt(request: Request, query: VerifyQuery) -> VerifiedReceipt:
    return await receipts.verify_receipt(container(request), query.number, query.code)


@bp.post("/orders/<order_id:int>/refunds")
@openapi.summary("退费（部分人员或全额），原路退回")
@requires(*REFUNDERS)
@idempotent
@body(RefundRequest)
@errors(409, "REFUND_ALREADY_REQUESTED")
@responds(RefundOrderOut, status=201)
async def refund_order(request: Request, order_id: int, body: RefundRequest) -> Refund:
    view = await refunds.request_refund(
        container(request),
        principal(request),
        order_id,
        person_ids=body.person_ids,
        reason=body.reason,
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
    )
    return view


@bp.post("/wechat/notify")
@openapi.summary("微信支付结果通知（由微信支付调用，验签、解密后入账）")
@responds(None, status=204, description="已处理（新的通知）")
@responds(WechatNotifyOut, description="已处理（重复的通知）")
@responds(
    WechatNotifyOut, status=400, description="微信支付协议的失败应答：通知格式、解密或商户号有误"
)
@responds(WechatNotifyOut, status=401, description="微信支付协议的失败应答：签名验证失败")
@responds(WechatNotifyOut, status=404, description="微信支付协议的失败应答：退款单不存在")
async def wechat_notify(request: Request) -> HTTPResponse:
    # The raw bytes exactly as received: the signature covers them, not a re-serialisation.
    answer = await handle_notification(container(request), request.headers, request.body or b"")
    if answer.body is None:
        return empty(status=answer.status)
    return json(answer.body, status=answer.status)
