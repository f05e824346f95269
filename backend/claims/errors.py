"""The claims domain's refusals (documented error codes, Chinese messages)."""

from __future__ import annotations

from backend.errors import Conflict, InvalidInput, NotFound


class ClaimNotFound(NotFound):
    code = "CLAIM_NOT_FOUND"
    message = "未找到该报销申请"


class InvoiceNotFound(NotFound):
    code = "INVOICE_NOT_FOUND"
    message = "未找到该票据"


class DuplicateInvoice(Conflict):
    code = "DUPLICATE_INVOICE"
    message = "该票据已在其他报销申请中使用，不能重复报销"


class NotInsuredOnCareDate(InvalidInput):
    code = "NOT_INSURED_ON_CARE_DATE"
    message = "就诊日期不在参保缴费的待遇享受期内，不能申请报销"


class StaleClaim(Conflict):
    code = "CLAIM_CHANGED"
    message = "报销申请已更新，请刷新后重试"
