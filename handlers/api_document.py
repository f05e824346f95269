"""The OpenAPI 3.1 document, generated from the routes and their contracts.

Nothing here is written by hand per endpoint: paths and path parameters come from the router,
summaries from ``@openapi.summary`` (sanic-ext), and the rest from each handler's
:class:`handlers.contract.Contract`. Component schemas are pydantic's JSON Schema (2020-12,
the dialect of OpenAPI 3.1) under ``#/components/schemas``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sanic import Sanic
from sanic_ext.extensions.openapi.builders import OperationStore

from handlers.contract import MAX_ID, Contract, contract_of, is_html

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]  # a model's schema for requests or answers
SKIPPED_METHODS = {"HEAD", "OPTIONS", "TRACE"}

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

_PARAM = re.compile(r"<(\w+)(?::(\w+))?>")


def references(node: Any) -> list[str]:
    """Every ``$ref`` in a document or schema."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in references(v)]
    if isinstance(node, list):
        return [r for v in node for r in references(v)]
    return []


class DocumentError(RuntimeError):
    """The routes cannot be documented as they are (a contract mistake, found at build)."""


def _openapi_path(uri: str) -> str:
    return "/" + _PARAM.sub(r"{\1}", uri).lstrip("/")


def _path_schema(cast: str | None) -> dict[str, Any]:
    if cast == "int":
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/]+$"}


def _summary(handler: Any) -> tuple[str | None, str | None]:
    store = OperationStore()
    op = store.get(handler)
    summary = getattr(op, "summary", None) if op is not None else None
    description = getattr(op, "description", None) if op is not None else None
    return summary, description or inspect.getdoc(handler)


class _Schemas:
    """Every model the operations name, turned into components in one pass (pydantic names
    colliding models after their modules)."""

    def __init__(self, contracts: list[Contract]) -> None:
        wanted: list[tuple[type[BaseModel], Mode]] = []
        for c in contracts:
            for model in (c.body, c.query, c.form):
                if model is not None:
                    wanted.append((model, "validation"))
            for s in c.successes:
                if s.model is not None:
                    if not (isinstance(s.model, type) and issubclass(s.model, BaseModel)):
                        raise DocumentError(f"response model {s.model!r} is not a pydantic model")
                    wanted.append((s.model, "serialization"))
        unique = list(dict.fromkeys(wanted))
        self.refs, top = models_json_schema(unique, ref_template=REF) if unique else ({}, {})
        requests = {
            self.refs[key]["$ref"].rsplit("/", 1)[1] for key in unique if key[1] == "validation"
        }
        # Each component titled by its key: client generators name their classes after titles,
        # and two models of the same class name in different modules must not collide.
        self.components: dict[str, Any] = {
            name: {**schema, "title": name} for name, schema in top.get("$defs", {}).items()
        }
        # Models nested in request models are requests too (their names end in -Input when
        # pydantic tells them apart from the responses, or they are only used in requests).
        for name in self._reachable(requests):
            self.components[name] = _plain_text(self.components[name])
        self.components["FormValue"] = FORM_VALUE_SCHEMA

    def _reachable(self, names: set[str]) -> set[str]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen or name not in self.components:
                continue
            seen.add(name)
            todo += [ref.rsplit("/", 1)[1] for ref in references(self.components[name])]
        return seen

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def resolve(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        name = self.ref(model, mode)["$ref"].rsplit("/", 1)[1]
        return self.components[name]


def _plain_text(node: Any) -> Any:
    """A request schema with the server's text rule written into it: every string without a
    pattern or enumeration gets ``PLAIN_TEXT``, every free-form object ``FormValue``s."""
    if isinstance(node, list):
        return [_plain_text(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _plain_text(v) for k, v in node.items()}
    if out.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & set(out)):
        out["pattern"] = PLAIN_TEXT
    free_form = out.get("type") == "object" and "properties" not in out
    if free_form and out.get("additionalProperties", True) is True:
        out["additionalProperties"] = {"$ref": "#/components/schemas/FormValue"}
        out["propertyNames"] = {"pattern": PLAIN_TEXT}
    return out


def _errors(
    contract: Contract, path_params: list[tuple[str, str | None]], idempotent: bool
) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}

    def add(table: Mapping[int, tuple[str, ...]]) -> None:
        for status, codes in table.items():
            out.setdefault(status, set()).update(codes)

    add(AUTH_ERRORS[contract.auth])
    add(UNAVAILABLE)
    if contract.auth == "bearer" and contract.roles:
        add({403: ("FORBIDDEN",)})
    if contract.body is not None or contract.multipart is not None:
        add(BODY_ERRORS)
    if contract.query is not None:
        add(QUERY_ERRORS)
    if path_params:
        add(PATH_ERRORS)
        for name, _ in path_params:
            if name in NOT_FOUND_BY_PARAMETER:
                add({404: (NOT_FOUND_BY_PARAMETER[name],)})
    if idempotent:
        add(IDEMPOTENCY_ERRORS)
    for status, codes in contract.errors.items():
        out.setdefault(status, set()).update(codes)
    return out


def _error_response(status: int, codes: set[str]) -> dict[str, Any]:
    listed = "、".join(sorted(codes))
    return {
        "description": f"{STATUS_TEXT.get(status, '错误')}。错误码：{listed}",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _query_parameters(schemas: _Schemas, model: type[BaseModel]) -> list[dict[str, Any]]:
    resolved = schemas.resolve(model, "validation")
    required = set(resolved.get("required", []))
    params = []
    for name, prop in resolved.get("properties", {}).items():
        schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": schema,
        }
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params


def _multipart_schema(schemas: _Schemas, contract: Contract) -> dict[str, Any]:
    """The file parts and, beside them, the text fields of ``contract.form``. A form field is
    text, never null: an optional field is left out."""
    schema = dict(contract.multipart or {})
    if contract.form is None:
        return schema
    fields = schemas.resolve(contract.form, "validation")
    return {
        **schema,
        "required": [*fields.get("required", []), *schema["required"]],
        "properties": {
            **{name: _not_null(prop) for name, prop in fields["properties"].items()},
            **schema["properties"],
        },
        "additionalProperties": False,
    }


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    choices = [c for c in prop.get("anyOf", []) if c != {"type": "null"}]
    if len(choices) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**rest, **choices[0]}


def _operation(
    schemas: _Schemas,
    contract: Contract,
    handler: Any,
    op_id: str,
    tag: str,
    path_params: list[tuple[str, str | None]],
) -> dict[str, Any]:
    summary, description = _summary(handler)
    op: dict[str, Any] = {"operationId": op_id, "tags": [tag]}
    if summary:
        op["summary"] = summary
    if description:
        op["description"] = description
    if contract.auth == "bearer" and contract.roles:
        roles = "、".join(ROLE_NAMES.get(r, r) for r in contract.roles)
        op["description"] = f"{op.get('description', '')}\n\n允许的角色：{roles}".strip()
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(cast)}
        for name, cast in path_params
    ]
    if contract.query is not None:
        params += _query_parameters(schemas, contract.query)
    idempotent = False
    for h in contract.headers:
        idempotent = idempotent or h.name == "Idempotency-Key"
        params.append(
            {
                "name": h.name,
                "in": "header",
                "required": h.required,
                "description": h.description,
                "schema": h.schema,
            }
        )
    if params:
        op["parameters"] = params
    if contract.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(contract.body, "validation")}},
        }
    elif contract.multipart is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _multipart_schema(schemas, contract)}},
        }
    op["security"] = [] if contract.auth == "public" else [{contract.auth: []}]
    responses: dict[str, Any] = {}
    for s in contract.successes:
        content: dict[str, Any] = {}
        if s.model is not None:
            content[s.media_type] = {"schema": schemas.ref(s.model, "serialization")}
        for media_type in s.binary_types:
            content[media_type] = {"schema": {"type": "string", "contentMediaType": media_type}}
        responses[str(s.status)] = {"description": s.description}
        if content:
            responses[str(s.status)]["content"] = content
    for status, codes in sorted(_errors(contract, path_params, idempotent).items()):
        responses[str(status)] = _error_response(status, codes)
    op["responses"] = responses
    return op


def _api_routes(app: Sanic) -> list[tuple[str, str, Any, list[tuple[str, str | None]], str]]:
    """(path, method, handler, path parameters, blueprint) of every documented operation."""
    found = []
    for route in app.router.routes:
        handler = route.handler
        if is_html(route.name, handler) or getattr(route.extra, "static", False):
            continue
        params = [
            (p.name, getattr(p, "label", None) or None) for p in route.defined_params.values()
        ]
        parts = route.name.split(".")
        blueprint = parts[1] if len(parts) > 2 else "default"
        for method in sorted(route.methods):
            if method in SKIPPED_METHODS:
                continue
            found.append((_openapi_path(route.path), method, handler, params, blueprint))
    return found


def build_document(app: Sanic) -> dict[str, Any]:
    routes = _api_routes(app)
    schemas = _Schemas([contract_of(h) for _, _, h, _, _ in routes])
    names = [h.__name__ for _, _, h, _, _ in routes]
    paths: dict[str, dict[str, Any]] = {}
    for path, method, handler, params, blueprint in sorted(routes, key=lambda r: r[0]):
        name = handler.__name__
        op_id = name if names.count(name) == 1 else f"{blueprint}_{name}"
        paths.setdefault(path, {})[method.lower()] = _operation(
            schemas, contract_of(handler), handler, op_id, blueprint, params
        )
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "yibao 医保掌上办 API",
            "version": "v1",
            "description": "公众、服务站工作人员、审核人员和定点医药机构终端使用的接口。"
            '错误格式统一为 `{"error": {"code", "message", "details"}}`，'
            "并带有 `X-Request-ID` 响应头。路径中的编号为 1 至 2147483647 的整数，"
            "超出范围按未找到（404）处理。",
        },
        "paths": paths,
        "components": {
            "schemas": {**schemas.components, **ERROR_SCHEMAS},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
