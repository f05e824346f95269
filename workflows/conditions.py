"""A tiny declarative condition language for definitions: which materials are needed, when
a case is decided on the spot, when a second review is required.

A condition is a mapping:
``{"field": "change_type", "in": ["phone", "address"]}``, ``{"field": "amount", "gt": "5000"}``,
``{"field": "$channel", "eq": "app"}``, ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``.
Fields name form fields, or ``$channel``. Numbers compare as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

Condition = Mapping[str, Any]

_COMPARE = {"eq", "ne", "in", "gt", "gte", "lt", "lte", "present"}


class ConditionError(ValueError):
    pass


def validate_condition(cond: Condition, path: str = "condition") -> None:
    if not isinstance(cond, Mapping) or not cond:
        raise ConditionError(f"{path}: must be a non-empty mapping")
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        items = cond[key]
        if len(cond) != 1 or not isinstance(items, list) or not items:
            raise ConditionError(f"{path}.{key}: must be the only key, with a non-empty list")
        for i, sub in enumerate(items):
            validate_condition(sub, f"{path}.{key}[{i}]")
        return
    if "not" in cond:
        if len(cond) != 1:
            raise ConditionError(f"{path}.not: must be the only key")
        validate_condition(cond["not"], f"{path}.not")
        return
    if "field" not in cond or not isinstance(cond["field"], str):
        raise ConditionError(f"{path}: needs 'field'")
    ops = set(cond) - {"field"}
    if len(ops) != 1 or not ops <= _COMPARE:
        raise ConditionError(f"{path}: needs exactly one of {sorted(_COMPARE)}")
    op = ops.pop()
    if op in {"gt", "gte", "lt", "lte"}:
        try:
            Decimal(str(cond[op]))
        except InvalidOperation as exc:
            raise ConditionError(f"{path}.{op}: not a number") from exc
    if op == "in" and not isinstance(cond[op], list):
        raise ConditionError(f"{path}.in: must be a list")


def fields_of(cond: Condition) -> set[str]:
    if "all" in cond or "any" in cond:
        parts: list[Condition] = cond.get("all") or cond.get("any") or []
        return set().union(*(fields_of(c) for c in parts))
    if "not" in cond:
        return fields_of(cond["not"])
    return {cond["field"]}


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def evaluate(cond: Condition | None, facts: Mapping[str, Any]) -> bool:
    """True when ``cond`` holds for ``facts``. A missing condition always holds."""
    if cond is None:
        return True
    if "all" in cond:
        return all(evaluate(c, facts) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, facts) for c in cond["any"])
    if "not" in cond:
        return not evaluate(cond["not"], facts)
    value = facts.get(cond["field"])
    if "present" in cond:
        return (value not in (None, "")) == bool(cond["present"])
    if "eq" in cond:
        return value == cond["eq"]
    if "ne" in cond:
        return value != cond["ne"]
    if "in" in cond:
        return value in cond["in"]
    number = _number(value)
    if number is None:
        return False
    for op in ("gt", "gte", "lt", "lte"):
        if op in cond:
            limit = Decimal(str(cond[op]))
            return {
                "gt": number > limit,
                "gte": number >= limit,
                "lt": number < limit,
                "lte": number <= limit,
            }[op]
    return False
