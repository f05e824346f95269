"""The catalogue of services a citizen can apply for, with their forms and materials."""

from __future__ import annotations

from typing import Any

from backend.container import Container
from backend.errors import NotFound
from workflows.definition import Definition
from workflows.registry import UnknownDefinition


def service_view(defn: Definition) -> dict[str, Any]:
    return {
        "code": defn.code,
        "version": defn.version,
        "name": defn.name,
        "category": defn.category,
        "channels": sorted(defn.channels),
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type.value,
                "required": f.required,
                "when": f.when,
                "choices": list(f.choices),
            }
            for f in defn.fields
        ],
        "materials": [
            {"key": m.key, "name": m.name, "is_key": m.is_key, "when": m.when}
            for m in defn.materials
        ],
        "instant_rule": defn.instant,
        "deliveries": [d.value for d in defn.issuance.deliveries],
        "tolerance": defn.tolerance is not None,
    }


def list_services(c: Container) -> list[dict[str, Any]]:
    return [service_view(d) for d in c.definitions.services()]


def service(c: Container, code: str) -> dict[str, Any]:
    """One service as the catalogue lists it (its latest definition); 404 for an unknown code."""
    try:
        return service_view(c.definitions.latest(code))
    except UnknownDefinition:
        raise NotFound("未找到该事项", code="SERVICE_UNKNOWN", service_code=code) from None
