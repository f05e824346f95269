"""A definition checked when it is registered: names, vocabulary, conditions over known
fields, review levels, transitions and the guards the engine knows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain

from workflows.conditions import Condition, ConditionError, fields_of, validate_condition
from workflows.definition import FINAL_STATES, Definition, DefinitionError, FieldType
from workflows.vocabulary import ACTORS, CATEGORIES, MATERIALS, SYSTEM


def validate_definition(defn: Definition, guards: frozenset[str]) -> None:
    """Raise :class:`DefinitionError` naming the first problem of ``defn``, if any."""
    problems = chain(_shape(defn), _conditions(defn), _transitions(defn, guards))
    first = next(problems, None)
    if first is not None:
        raise DefinitionError(f"definition {defn.code} v{defn.version}: {first}")


def _shape(defn: Definition) -> Iterator[str]:
    """Its code, version, category, fields, materials, review levels and issuance."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,47}", defn.code):
        yield "code: lower-case letters, digits and underscores"
    if defn.version < 1:
        yield "version: must be at least 1"
    if defn.category not in CATEGORIES:
        yield f"category: unknown review category {defn.category!r} (workflows/vocabulary.py)"
    names = [f.name for f in defn.fields]
    if len(set(names)) != len(names):
        yield "fields: duplicate field name"
    if any(n.startswith("$") for n in names):
        yield "fields: names may not start with $"
    for d in defn.derived:
        if not re.fullmatch(r"\$[a-z][a-z0-9_]{0,47}", d) or d == "$channel":
            yield f"derived.{d}: names start with $ and are not $channel"
    for f in defn.fields:
        if f.type is FieldType.CHOICE and not f.choices:
            yield f"fields.{f.name}.choices: a choice field needs choices"
    keys = [m.key for m in defn.materials]
    if len(set(keys)) != len(keys):
        yield "materials: duplicate material key"
    for m in defn.materials:
        if m.key not in MATERIALS:
            yield f"materials.{m.key}: not a material of workflows/vocabulary.py"
    levels = sorted(r.level for r in defn.review_levels)
    if levels != list(range(1, len(levels) + 1)):
        yield "review_levels: levels must be 1, 2, ... without gaps"
    for r in defn.review_levels:
        if r.level == 1 and r.when is not None:
            yield "review_levels[1].when: the first level applies to every reviewed case"
    if defn.amount_field is not None:
        amount = defn.field(defn.amount_field)
        if amount is None or amount.type is not FieldType.MONEY:
            yield "amount_field: must name a money field"
    if not defn.issuance.deliveries:
        yield "issuance.deliveries: at least one delivery method"
    if not defn.channels:
        yield "channels: at least one channel"


def _conditions(defn: Definition) -> Iterator[str]:
    """Every condition well formed, over the form's fields, ``$channel`` and derived facts."""
    names = [f.name for f in defn.fields]
    known = set(names) | {"$channel"} | set(defn.derived)
    conditions: list[tuple[Condition | None, str]] = [
        *((f.when, f"fields.{f.name}.when") for f in defn.fields),
        *((m.when, f"materials.{m.key}.when") for m in defn.materials),
        (defn.instant, "instant"),
        *((r.when, f"review_levels[{r.level}].when") for r in defn.review_levels),
    ]
    for cond, path in conditions:
        if cond is None:
            continue
        try:
            validate_condition(cond, path)
        except ConditionError as exc:
            yield str(exc)
        unknown = fields_of(cond) - known
        if unknown:
            yield f"{path}: unknown field(s) {sorted(unknown)}"


def _transitions(defn: Definition, guards: frozenset[str]) -> Iterator[str]:
    """Named once, from non-final states, by known roles, with known guards; the engine's own."""
    tnames = [t.name for t in defn.transitions]
    if len(set(tnames)) != len(tnames):
        yield "transitions: duplicate transition name"
    for t in defn.transitions:
        if not t.sources:
            yield f"transitions.{t.name}.sources: at least one source state"
        for s in t.sources:
            if s in FINAL_STATES:
                yield f"transitions.{t.name}: leaves final state {s}"
        if not t.roles or not t.roles <= ACTORS:
            yield f"transitions.{t.name}.roles: unknown role in {sorted(t.roles)}"
        unknown_guards = set(t.guards) - guards
        if unknown_guards:
            yield f"transitions.{t.name}.guards: unknown guard(s) {sorted(unknown_guards)}"
    for needed in ("route", "issue"):
        if needed not in tnames:
            yield f"transitions: the engine needs '{needed}'"
    if defn.tolerance is not None:
        expiry = defn.transition(defn.tolerance.on_expiry)
        if expiry is None or SYSTEM not in expiry.roles:
            yield "tolerance.on_expiry: must name a system transition"
    if defn.instant is not None and (
        defn.transition("instant_accept") is None or defn.transition("instant_approve") is None
    ):
        yield "instant: needs the instant_accept and instant_approve transitions"
