"""The API contract: the OpenAPI document is valid, complete and says what the server does.

A new endpoint without a Chinese summary, a documented success answer or bounded integers
fails here, with the endpoint and the decorator to add named in the message.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from backend.identity.models import Role
from handlers.api_document import build_document, references
from handlers.contract import MAX_ID, contract_of, is_html
from tests.factories import make_citizen, make_staff

CJK = re.compile(r"[\u4e00-\u9fff]")
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document(stack: Any) -> dict[str, Any]:
    return build_document(stack.app)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external or relative reference {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolved reference {ref}"
        node = node[part]
    return node


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator: raises on the first error
    refs = references(document)
    assert refs and all(r.startswith("#/components/schemas/") for r in refs), [
        r for r in refs if not r.startswith("#/components/schemas/")
    ]
    for ref in set(refs):
        _resolve(document, ref)
    assert "$defs" not in json.dumps(document)


async def test_the_server_serves_the_document_it_builds(client, document):
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
    assert response.json == json.loads(json.dumps(document))


def test_every_operation_is_documented(document):
    problems = []
    for method, path, op in _operations(document):
        where = f"{method} {path} ({op['operationId']})"
        if not CJK.search(op.get("summary", "")):
            problems.append(f"{where}: no Chinese summary (add @openapi.summary('…'))")
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if not successes:
            problems.append(f"{where}: no success answer (add @responds(Model) above the def)")
        if "security" not in op:
            problems.append(f"{where}: no security requirement")
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if status.startswith("4") and schema == {"$ref": "#/components/schemas/Error"}:
                assert "错误码" in response["description"], where
            elif status.startswith("4"):  # another protocol's answer (WeChat Pay's notify)
                assert schema and CJK.search(response["description"]), where
        for param in op.get("parameters", []):
            schema = param["schema"]
            if schema.get("type") == "integer" and param["in"] == "path":
                assert schema["minimum"] == 1 and schema["maximum"] == MAX_ID, where
        if op.get("requestBody"):
            assert op["requestBody"]["required"] is True, where
    assert not problems, "\n".join(problems)


def test_every_json_answer_names_its_fields(document):
    """No answer is a bare object: a client generator gives each one a typed model."""
    bare = []
    for method, path, op in _operations(document):
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if not status.startswith("2") or schema is None:
                continue
            resolved = _resolve(document, schema["$ref"]) if "$ref" in schema else schema
            if resolved.get("type") == "object" and not resolved.get("properties"):
                bare.append(f"{method} {path} {status}")
    assert not bare, bare


def _properties(node: Any, document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every (name, schema) of the object properties reachable from ``node``."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            todo += item
        elif isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                todo.append(_resolve(document, ref))
            out += list((item.get("properties") or {}).items())
            todo += list(item.values())
    return out


def _choices(prop: dict[str, Any]) -> dict[str, Any]:
    """The non-null alternative of an optional property."""
    for choice in prop.get("anyOf", [prop]):
        if choice.get("type") != "null":
            return choice
    return prop


def test_what_the_server_checks_is_in_the_document(document, stack):
    """ID numbers, service items, review categories and subsidy categories are refused by the
    services with their own codes; the document states the same rules, from the same source."""
    from backend.enrollment.categories import known_categories
    from backend.identity.idcard import ID_NUMBER_PATTERN
    from config.policy import load_policies
    from workflows.vocabulary import CATEGORIES, SERVICES

    expected = {
        "id_number": ("pattern", ID_NUMBER_PATTERN),
        "service_code": ("enum", list(SERVICES)),
        "items@/api/v1/stations/{station_id}/items": ("enum", list(SERVICES)),
        "category@/api/v1/review/queue": ("enum", list(CATEGORIES)),
        "category@/api/v1/enrollment/persons/{person_id}/category-changes": (
            "enum",
            sorted(known_categories(load_policies())),
        ),
    }
    checked, wrong = set(), []
    for method, path, op in _operations(document):
        if method == "GET" and not op.get("parameters"):
            continue
        body = [c["schema"] for c in op.get("requestBody", {}).get("content", {}).values()]
        query = [{"properties": {p["name"]: p["schema"] for p in op.get("parameters", [])}}]
        for name, prop in _properties([*body, *query], document):
            key = next(
                (k for k in (f"{name}@{path}", name) if k in expected),
                "id_number" if name.endswith("id_number") else None,
            )
            if key is None:
                continue
            prop = _choices(prop)
            if prop.get("type") == "array":
                prop = prop["items"]
            keyword, value = expected[key]
            checked.add(key)
            if prop.get(keyword) != value:
                wrong.append(f"{method} {path} {name}: {keyword} {prop.get(keyword)!r}")
    assert not wrong, wrong
    assert checked == set(expected), set(expected) - checked


def test_claim_answers_type_their_settlement(document):
    """The settlement in a claim, its review and the preview is typed down to its leaves."""
    schemas = document["components"]["schemas"]
    for name, field in (
        ("ClaimOut", "schemes"),
        ("ClaimReviewOut", "calculation"),
        ("SettlementPreviewOut", "settlement"),
        ("CatalogueSearchOut", "items"),
    ):
        top = _choices(schemas[name]["properties"][field])
        assert top.get("type") != "object" or top.get("properties"), f"{name}.{field}"
        for inner, prop in [(field, top), *_properties(top, document)]:
            for node in (_choices(prop), _choices(prop).get("items", {})):
                assert node.get("additionalProperties") is not True, f"{name}.{field}: {inner}"
                assert (
                    node.get("type") != "object"
                    or "properties" in node
                    or isinstance(node.get("additionalProperties"), dict)
                ), f"{name}.{field}: {inner} is untyped"


@pytest.mark.parametrize(
    ("path", "fields", "file"),
    [
        ("/api/v1/station/authorisations", {"grantor_id_number", "purpose"}, "signed_form"),
        (
            "/api/v1/enrollment/persons/{person_id}/category-changes",
            {"valid_from", "evidence_number"},
            "evidence",
        ),
    ],
)
def test_a_multipart_form_documents_its_text_fields(document, path, fields, file):
    body = document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
    schema = body["schema"]
    assert fields | {file} <= set(schema["required"]) <= set(schema["properties"])
    assert schema["properties"][file]["format"] == "binary"
    assert schema["additionalProperties"] is False
    # A form field is text: an optional one is left out, never sent as null.
    assert '"null"' not in json.dumps(schema["properties"])


def test_every_route_has_a_contract(stack):
    """Also the routes the document leaves out on purpose must say so (``@html_page``)."""
    missing = []
    for route in stack.app.router.routes:
        if route.methods <= {"HEAD", "OPTIONS"}:
            continue
        contract = contract_of(route.handler)
        if not is_html(route.name, route.handler) and not contract.successes:
            missing.append(
                f"/{route.path} {sorted(route.methods)} ({route.handler.__module__}."
                f"{route.handler.__name__}): add @responds(Model) from handlers.contract, "
                "or @html_page for a page that is not part of the API"
            )
    assert not missing, "\n".join(missing)


def _integer_fields(model: type[BaseModel]) -> list[tuple[str, dict[str, Any]]]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    found = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                walk(defs[node["$ref"].rsplit("/", 1)[1]], where)
                return
            if node.get("type") == "integer":
                found.append((where, node))
            for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
                for sub in node.get(key, []):
                    walk(sub, where)
            if "items" in node:
                walk(node["items"], f"{where}[]")
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{where}.{name}")

    walk(schema, model.__name__)
    return found


def test_every_request_integer_is_bounded(stack):
    """An unbounded integer reaches the database and overflows there (a 500)."""
    unbounded = set()
    for route in stack.app.router.routes:
        contract = contract_of(route.handler)
        for model in (contract.body, contract.query):
            if model is None:
                continue
            for where, node in _integer_fields(model):
                low = "minimum" in node or "exclusiveMinimum" in node
                high = "maximum" in node or "exclusiveMaximum" in node
                if not (low and high):
                    unbounded.add(f"{where}: give it Field(ge=…, le=…) (ids: handlers.schemas.Id)")
    assert not unbounded, "\n".join(sorted(unbounded))


# -- HTTP semantics ------------------------------------------------------------------------------


async def test_a_method_the_path_lacks_is_405_with_allow(client):
    _, response = await client.delete("/api/v1/services")
    assert response.status == 405
    assert response.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    _, response = await client.request("TRACE", "/api/v1/cases/1")
    assert response.status == 405
    assert "GET" in response.headers["allow"]


async def test_options_and_head_follow_http(client):
    _, response = await client.options("/api/v1/cases")
    assert response.status == 204
    assert set(response.headers["allow"].split(",")) >= {"GET", "POST", "HEAD", "OPTIONS"}
    _, head = await client.head("/api/v1/services")
    _, get = await client.get("/api/v1/services")
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.headers["content-type"] == get.headers["content-type"]


# -- no 500 from input (#12 item 10) ---------------------------------------------------------


async def test_ids_out_of_range_are_404_not_500(client, c):
    citizen = await make_citizen(c, "contract-citizen")
    for path in (
        "/api/v1/cases/99999999999999999999999999",
        "/api/v1/cases/-1",
        "/api/v1/cases/0",
        f"/api/v1/claims/{MAX_ID + 1}",
        "/api/v1/payments/orders/19641363554355814908299103349290041344",
    ):
        _, response = await client.get(path, headers=citizen.headers)
        assert response.status == 404, path
        assert response.json["error"]["code"] == "NOT_FOUND"


async def test_a_huge_station_id_in_case_stats_is_422(client, c):
    admin = await make_staff(c, Role.ADMIN, "contract-admin")
    _, response = await client.get(
        "/api/v1/admin/case-stats?date_from=2025-01-01&date_to=2025-02-01"
        "&station_id=99999999999999999999999",
        headers=admin.headers,
    )
    assert response.status == 422
    problem = response.json["error"]["details"]["fields"][0]
    assert problem["field"] == "station_id"
    assert problem["code"] == "less_than_equal"
    assert CJK.search(problem["problem"])


async def test_a_lone_surrogate_in_new_address_is_422(client, c):
    citizen = await make_citizen(c, "contract-surrogate")
    body = json.dumps(
        {
            "service_code": "insurance_info_change",
            "form": {"change_type": "address", "new_address": "杭州\ud800市"},
        }
    )  # json.dumps escapes it as \ud800: valid JSON text, not a Unicode string
    _, response = await client.post(
        "/api/v1/cases",
        content=body,
        headers={**citizen.headers, "content-type": "application/json"},
    )
    assert response.status == 422
    assert response.json["error"]["code"] == "INVALID_TEXT"
    assert response.json["error"]["details"]["fields"][0]["field"] == "form.new_address"
    _, listed = await client.get("/api/v1/cases", headers=citizen.headers)
    assert listed.json["total"] == 0  # nothing was filed


async def test_control_characters_in_text_are_refused(client, c):
    citizen = await make_citizen(c, "contract-control")
    _, response = await client.post(
        "/api/v1/me/binding",
        json={"name": "张\x00三", "id_number": "110101199003078515"},
        headers=citizen.headers,
    )
    assert response.status == 422
    assert response.json["error"]["details"]["fields"][0] == {
        "field": "name",
        "code": "invalid_text",
        "problem": "含有不可见的控制字符或无效字符",
    }


# -- field-level problems in Chinese ---------------------------------------------------------


async def test_field_problems_are_chinese_with_stable_codes(client, c):
    citizen = await make_citizen(c, "contract-fields")
    _, response = await client.post(
        "/api/v1/cases/1/withdraw",
        json={"reason": "理" * 201, "surprise": True},
        headers=citizen.headers,
    )
    assert response.status == 422
    problems = {p["field"]: p for p in response.json["error"]["details"]["fields"]}
    assert problems["version"]["code"] == "missing"
    assert problems["version"]["problem"] == "必须填写"
    assert problems["reason"]["code"] == "string_too_long"
    assert problems["reason"]["problem"] == "长度不能超过 200 个字符"
    assert problems["surprise"]["code"] == "extra_forbidden"
    for p in problems.values():
        assert CJK.search(p["problem"]), p


# -- self-hosted docs ---------------------------------------------------------------------------


async def test_docs_page_loads_only_from_this_server(client):
    _, page = await client.get("/docs")
    assert page.status == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(("/docs/", "/assets/vendor/")) for s in sources), sources
    for source in sources:
        _, asset = await client.get(source)
        assert asset.status == 200, source  # installed from the npm lock file by make


async def test_docs_are_off_in_production_unless_configured(client, c, monkeypatch):
    monkeypatch.setattr(c.settings, "env", "production")
    for path in ("/docs", "/docs/openapi.json", "/docs/init.js"):
        _, response = await client.get(path)
        assert response.status == 404, path
    monkeypatch.setattr(c.settings, "docs_enabled", True)
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
