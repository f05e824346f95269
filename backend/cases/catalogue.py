"""The catalogue of services a citizen can apply for, with their forms and materials."""

from __future__ import annotations

from typing import Any

from backend.container import Container
from workflows.definition import Definition


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
