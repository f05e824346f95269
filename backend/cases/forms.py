"""A case's form: checking it against the definition, sealing its sensitive fields, reading it
back in full (for the engine) or masked (for people)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from backend.cases.models import Case
from backend.container import Container
from backend.errors import InvalidInput
from backend.infra.crypto import mask_address, mask_bank_account, mask_phone
from workflows.definition import (
    Definition,
    FieldType,
    missing_materials,
)
from workflows.forms import FormProblem, clean_form

FORM_FIELD = "case_form"


def checked_form(defn: Definition, form: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """The form cleaned by the definition's rules; a problem is a 422 naming the fields."""
    try:
        return clean_form(defn, form, channel)
    except FormProblem as exc:
        raise InvalidInput(
            "填写的内容不符合要求", code="FORM_INVALID", fields=exc.problems
        ) from exc


def split_form(defn: Definition, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain fields, sensitive fields): the sensitive ones are stored sealed."""
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for name, value in form.items():
        field = defn.field(name)
        (secret if field is not None and field.sensitive else plain)[name] = value
    return plain, secret


def seal(c: Container, secret: Mapping[str, Any]) -> str:
    return c.pii.encrypt(json.dumps(dict(secret), ensure_ascii=False), FORM_FIELD) if secret else ""


def full_form(c: Container, case: Case) -> dict[str, Any]:
    secret = json.loads(c.pii.decrypt(case.form_secret, FORM_FIELD)) if case.form_secret else {}
    return {**(case.form or {}), **secret}


_MASKS: dict[FieldType | None, Callable[[str], str]] = {
    FieldType.PHONE: mask_phone,
    FieldType.ADDRESS: mask_address,
    FieldType.BANK_ACCOUNT: mask_bank_account,
}


def masked_form(c: Container, defn: Definition, case: Case) -> dict[str, Any]:
    # Derived facts ("$...", see Definition.derived) are the engine's, not the citizen's.
    out: dict[str, Any] = {k: v for k, v in (case.form or {}).items() if not k.startswith("$")}
    if case.form_secret:
        for name, value in json.loads(c.pii.decrypt(case.form_secret, FORM_FIELD)).items():
            field = defn.field(name)
            out[name] = _MASKS.get(field.type if field else None, mask_bank_account)(value)
    return out


def check_key_materials(defn: Definition, facts: Mapping[str, Any], provided: set[str]) -> None:
    """At submission: every key material is there; without 容缺 (the definition has no
    tolerance) every required material is."""
    key, other = missing_materials(defn, facts, provided)
    missing = key + ([] if defn.tolerance is not None else other)
    if missing:
        raise InvalidInput(
            f"缺少材料：{'、'.join(m.name for m in missing)}，请上传后再提交",
            code="KEY_MATERIALS_MISSING",
            materials=[{"key": m.key, "name": m.name} for m in missing],
        )
