"""A submitted form checked against its definition: every field asked for, in its type and
bounds, nothing else; the problems in the shape of every 422's ``details.fields``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from workflows.conditions import evaluate
from workflows.definition import (
    Definition,
    FieldType,
    FormField,
    facts_for,
)

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_BANK_ACCOUNT = re.compile(r"^\d{12,30}$")


class FormProblem(ValueError):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p['field']}: {p['problem']}" for p in problems))


def problem(field: str, code: str, sentence: str) -> dict[str, str]:
    """One field problem in the shape of every 422's ``details.fields``: the field, a stable
    code (the validation layer's, where it has one) and the Chinese sentence."""
    return {"field": field, "code": code, "problem": sentence}


def clean_form(defn: Definition, form: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """Check a submitted form against the definition; return the normalised values.

    Money becomes a ``Decimal`` string, dates ISO strings; unknown fields and fields not asked
    for (their ``when`` is false) are refused, so nothing unchecked is stored.
    """
    problems: list[dict[str, str]] = []
    if not isinstance(form, Mapping):
        raise FormProblem([problem("form", "dict_type", "必须是对象")])
    known = {f.name for f in defn.fields}
    for name in form:
        if name not in known:
            problems.append(problem(f"form.{name}", "extra_forbidden", "不是本事项的填写项"))
    clean: dict[str, Any] = {}
    # Fields without a condition first, so conditions can read them.
    for f in sorted(defn.fields, key=lambda f: f.when is not None):
        raw = form.get(f.name)
        asked = evaluate(f.when, facts_for(clean, channel))
        if not asked:
            if raw not in (None, ""):
                problems.append(problem(f"form.{f.name}", "not_asked", "当前情形不需要填写此项"))
            continue
        if raw in (None, ""):
            if f.required:
                problems.append(problem(f"form.{f.name}", "missing", f"请填写{f.label}"))
            continue
        try:
            clean[f.name] = _clean_value(f, raw)
        except ValueError as exc:
            problems.append(problem(f"form.{f.name}", "value_error", str(exc)))
    if problems:
        raise FormProblem(problems)
    return clean


def _clean_value(f: FormField, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError(f"{f.label}格式不正确")
    value = str(raw).strip()
    if f.type in (FieldType.TEXT, FieldType.ADDRESS):
        if len(value) > f.max_length:
            raise ValueError(f"{f.label}不能超过{f.max_length}个字")
        return value
    if f.type is FieldType.CHOICE:
        if value not in f.choices:
            raise ValueError(f"{f.label}只能是：{'、'.join(f.choices)}")
        return value
    if f.type is FieldType.PHONE:
        if not _PHONE.match(value):
            raise ValueError("手机号码格式不正确")
        return value
    if f.type is FieldType.BANK_ACCOUNT:
        value = value.replace(" ", "")
        if not _BANK_ACCOUNT.match(value):
            raise ValueError("银行账号应为12至30位数字")
        return value
    if f.type is FieldType.MONEY:
        if isinstance(raw, int) and not isinstance(raw, bool):
            amount = Decimal(raw)
        else:
            try:
                amount = Decimal(value)
            except InvalidOperation as exc:
                raise ValueError(f"{f.label}应为金额，如 1234.50") from exc
        if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError(f"{f.label}应为不小于0、最多两位小数的金额")
        if f.max_amount is not None and amount > f.max_amount:
            raise ValueError(f"{f.label}不能超过{f.max_amount}元")
        return str(amount.quantize(Decimal("0.01")))
    if f.type is FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise ValueError(f"{f.label}应为日期，如 2025-03-01") from exc
    raise ValueError(f"{f.label}类型未知")  # pragma: no cover - validated at registration
