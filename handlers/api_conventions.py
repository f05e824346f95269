"""The conventions every operation of the API shares, stated once in the OpenAPI document:
the roles' names, the errors that authentication, bodies, queries, path parameters and
idempotency imply, the rule for text in requests, the error and security schemes."""

from __future__ import annotations

from typing import Any

ROLE_NAMES = {
    "citizen": "参保群众",
    "station_staff": "服务站工作人员",
    "reviewer": "审核人员",
    "supervisor": "科室负责人",
    "finance": "财务人员",
    "admin": "管理员",
}

# What the decorators imply (the codes are stable; see backend.errors and the decorators).
AUTH_ERRORS: dict[str, dict[int, tuple[str, ...]]] = {
    "bearer": {401: ("UNAUTHORIZED", "TOKEN_INVALID", "TOKEN_REVOKED")},
    "terminal": {
        401: (
            "TERMINAL_AUTH_MISSING",
            "TERMINAL_AUTH_MALFORMED",
            "TERMINAL_TIMESTAMP_STALE",
            "TERMINAL_UNKNOWN",
            "TERMINAL_SIGNATURE_INVALID",
            "TERMINAL_NONCE_REPLAYED",
        )
    },
    "wechatpay": {},
    "public": {},
}
BODY_ERRORS = {
    422: ("VALIDATION_FAILED", "MALFORMED_JSON", "INVALID_TEXT"),
    413: ("PAYLOAD_TOO_LARGE",),
}
QUERY_ERRORS = {422: ("VALIDATION_FAILED", "INVALID_TEXT")}
PATH_ERRORS = {404: ("NOT_FOUND",)}
# The database or Redis is down (handlers.errors.unavailable_response, with Retry-After).
UNAVAILABLE = {503: ("SERVICE_UNAVAILABLE",)}
# What a missing (or someone else's) record named by a path parameter answers.
NOT_FOUND_BY_PARAMETER = {
    "case_id": "CASE_NOT_FOUND",
    "claim_id": "CLAIM_NOT_FOUND",
    "invoice_id": "INVOICE_NOT_FOUND",
    "order_id": "ORDER_NOT_FOUND",
    "person_id": "PERSON_NOT_FOUND",
    "filing_id": "FILING_NOT_FOUND",
    "link_id": "CONSENT_REQUEST_NOT_FOUND",
    "message_id": "MESSAGE_NOT_FOUND",
    "voucher_id": "VOUCHER_NOT_FOUND",
    "station_id": "STATION_NOT_FOUND",
    "qid": "QUALIFICATION_NOT_FOUND",
    "task_id": "TASK_NOT_FOUND",
    "member_id": "FAMILY_MEMBER_NOT_FOUND",
    "form_id": "AUTHORISATION_NOT_FOUND",
    "disbursement_id": "DISBURSEMENT_NOT_FOUND",
    "code": "DOCUMENT_NOT_FOUND",
}
# Text the server refuses anywhere in a body or a query (handlers.validation): C0 controls
# other than tab, line feed and carriage return, and DEL.
PLAIN_TEXT = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
# A value of a free-form object in a request (a service's form: its fields are text, choices,
# dates and amounts; anything nested is refused by the form's own validation).
FORM_VALUE_SCHEMA: dict[str, Any] = {
    "description": "表单字段的值：文本（不得含控制字符）、数字、布尔值或 null",
    "anyOf": [
        {"type": "string", "pattern": PLAIN_TEXT},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ],
}
IDEMPOTENCY_ERRORS = {
    409: ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS"),
    422: ("IDEMPOTENCY_KEY_INVALID",),
}
STATUS_TEXT = {
    400: "请求格式有误",
    401: "未登录、登录已失效或签名无效",
    403: "无权执行此操作",
    404: "未找到（或无权查看）",
    409: "与当前状态冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "提交的内容不符合要求",
    423: "账户已被临时锁定",
    429: "操作过于频繁",
    502: "外部服务暂时不可用",
    503: "服务暂时不可用",
}

ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "description": "稳定的错误码（供程序判断）"},
            "message": {"type": "string", "description": "中文说明（供用户阅读）"},
            "details": {
                "type": "object",
                "description": "补充信息；校验失败时 fields 列出每个字段的问题",
                "properties": {
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["field", "code", "problem"],
                            "properties": {
                                "field": {"type": "string", "description": "字段路径"},
                                "code": {"type": "string", "description": "稳定的问题代码"},
                                "problem": {"type": "string", "description": "中文说明"},
                            },
                        },
                    }
                },
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "terminal": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Terminal-Key",
        "description": "定点医药机构终端的请求签名（HMAC-SHA256），另需 X-Terminal-Timestamp、"
        "X-Terminal-Nonce、X-Terminal-Signature 请求头；签名原文见接口说明。",
    },
    "wechatpay": {
        "type": "apiKey",
        "in": "header",
        "name": "Wechatpay-Signature",
        "description": "微信支付平台对通知的签名（RSA-SHA256），由后端用平台公钥验证。",
    },
}
