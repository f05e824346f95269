"""Schemathesis hooks for the fuzz run (loaded through ``SCHEMATHESIS_HOOKS``).

One check beyond schemathesis' own: every error answer carries a stable code that the
document lists for that operation and status, and a request the document says is valid is
never refused as invalid input (that would be a constraint the document hides).
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

INPUT_REFUSALS = {"VALIDATION_FAILED", "INVALID_TEXT", "MALFORMED_JSON"}
CODES = re.compile(r"错误码：(.*)$")


def _documented_codes(case: Any, status: int) -> set[str] | None:
    response = case.operation.definition.raw.get("responses", {}).get(str(status))
    if response is None:
        return None
    found = CODES.search(response.get("description", ""))
    return set(found.group(1).split("、")) if found else None  # not in the error format


@schemathesis.check
def error_codes_are_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    documented = _documented_codes(case, response.status_code)
    if response.status_code < 400 or documented is None:
        return None  # a success, or a status the document does not list (its own check)
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("an error answer without {error: {code}}") from None
    if code not in documented:
        raise AssertionError(
            f"error code {code} ({response.status_code}) is not in the document's list for "
            f"{case.operation.label}: {sorted(documented)}"
        )
    meta = getattr(case, "meta", None)
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and code in INPUT_REFUSALS:
        fields = json.loads(response.content)["error"]["details"].get("fields")
        raise AssertionError(
            f"a schema-valid request was refused as invalid input ({code}): the document "
            f"hides a constraint: {json.dumps(fields, ensure_ascii=False)[:500]}"
        )
    return None
