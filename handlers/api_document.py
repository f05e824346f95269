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

from backend.enrollment.categories import known_categories
from config.policy import load_policies
from handlers.api_conventions import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ERROR_SCHEMAS,
    FORM_VALUE_SCHEMA,
    IDEMPOTENCY_ERRORS,
    NOT_FOUND_BY_PARAMETER,
    PATH_ERRORS,
    PLAIN_TEXT,
    QUERY_ERRORS,
    ROLE_NAMES,
    SECURITY_SCHEMES,
    STATUS_TEXT,
    UNAVAILABLE,
)
from handlers.contract import MAX_ID, Contract, contract_of, is_html
from handlers.schemas import SUBSIDY_CATEGORY_MARKER

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]  # a model's schema for requests or answers
SKIPPED_METHODS = {"HEAD", "OPTIONS", "TRACE"}

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


def _with_policy_codes(node: Any, subsidy_categories: list[str]) -> Any:
    """The subsidy-category marker replaced by the codes of the loaded premium policy."""
    if isinstance(node, list):
        return [_with_policy_codes(n, subsidy_categories) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _with_policy_codes(v, subsidy_categories) for k, v in node.items()}
    if out.pop(SUBSIDY_CATEGORY_MARKER, False):
        out.pop("pattern", None)
        out["enum"] = subsidy_categories
    return out


def build_document(app: Sanic) -> dict[str, Any]:
    routes = _api_routes(app)
    schemas = _Schemas([contract_of(h) for _, _, h, _, _ in routes])
    # The running app's policies; a document built before the server starts reads the same
    # policy files the container would load.
    container = getattr(app.ctx, "container", None)
    policies = container.policies if container is not None else load_policies()
    schemas.components = _with_policy_codes(schemas.components, sorted(known_categories(policies)))
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
