"""Start-up check of every name that refers across modules against ``workflows/vocabulary.py``:
the definitions, the roles, the domains that own services, the policy tables and the demo data.

A mismatch stops start-up with a :class:`VocabularyError` naming the file and the value, so a
category typed one way in the demo and another in a definition is found before a case waits
in a queue nobody reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.identity.models import Role
from config.policy import Policies
from workflows import vocabulary as v
from workflows.definition import Definition
from workflows.definitions import BUILTIN
from workflows.vocabulary import VocabularyError


def _definitions(builtin: Iterable[Definition]) -> None:
    for defn in builtin:
        where = f"workflows/definitions ({defn.code} v{defn.version})"
        v.require("service", defn.code, f"{where}: code")
        v.require("service", defn.delegation_item, f"{where}: item_code")
        v.require("category", defn.category, f"{where}: category")
        for m in defn.materials:
            v.require("material", m.key, f"{where}: materials")
        for t in defn.transitions:
            for role in t.roles:
                v.require("role", role, f"{where}: transitions.{t.name}.roles")


def _roles() -> None:
    if {r.value for r in Role} != set(v.ROLES):
        raise VocabularyError(
            f"backend/identity/models.py: Role {sorted(r.value for r in Role)} differs from "
            f"the roles of workflows/vocabulary.py {sorted(v.ROLES)}"
        )


def _owners(owners: Mapping[str, str | None]) -> None:
    """``owners``: service code → the owner its domain registered (None: no owner)."""
    for code, owner in owners.items():
        if owner is not None and v.OWNERS.get(code) != owner:
            raise VocabularyError(
                f"backend (hooks of {code}): owner {owner!r} is not the owner of {code} "
                "in workflows/vocabulary.py"
            )
    for code, owner in v.OWNERS.items():
        if owners.get(code) != owner:
            raise VocabularyError(
                f"workflows/vocabulary.py: OWNERS.{code}: no domain registered owner {owner!r}"
            )


def _policies(policies: Policies, builtin: Iterable[Definition]) -> None:
    materials = {d.code: {m.key for m in d.materials} for d in builtin}
    for version in policies.case_workflow.versions:
        for code in version.time_limits:
            v.require(
                "service",
                code,
                f"config/policy/case_workflow.yaml: version {version.effective_from}: time_limits",
            )
    uses = [
        ("remote_care.yaml", f"types.{name}.proofs", v.REMOTE_CARE_FILING, ftype.proofs)
        for version in policies.remote_care.versions
        for name, ftype in version.types.items()
    ] + [
        ("chronic.yaml", f"diseases.{code}.evidence", v.CHRONIC_DISEASE, disease.evidence)
        for version in policies.chronic.versions
        for code, disease in version.diseases.items()
    ]
    for file, path, service, keys in uses:
        for key in keys:
            if key not in materials.get(service, set()):
                raise VocabularyError(
                    f"config/policy/{file}: {path}: {key!r} is not a material of {service}"
                )


def check_demo(stations: Iterable[tuple[Any, ...]], staff: Iterable[tuple[Any, ...]]) -> None:
    """The demo's stations and staff (``backend.demo``), checked by the bootstrap: this module
    sits below the domains and does not import the demo."""
    for code, _name, _level, _parent, items in stations:
        for item in items:
            v.require("service", item, f"backend/demo/cast.py: STATIONS {code}: items")
    for username, _display, role, _station, categories in staff:
        v.require("role", role.value, f"backend/demo/cast.py: STAFF {username}: role")
        for category in categories:
            v.require("category", category, f"backend/demo/cast.py: STAFF {username}: categories")


def check_vocabulary(policies: Policies, owners: Mapping[str, str | None]) -> None:
    """Raise :class:`VocabularyError` at the first name that is not in the vocabulary."""
    _definitions(BUILTIN)
    _roles()
    _owners(owners)
    _policies(policies, BUILTIN)
