"""Field-level validation problems in Chinese, with stable machine codes; text that is not text.

Each problem in ``details.fields`` names the field (``form.amount``, ``materials.0.key``), a
stable code (pydantic's error type, e.g. ``string_too_long``) and a Chinese sentence saying
what is wrong. Lone surrogates and control characters are refused before validation: they
cannot be stored (PostgreSQL and SQLite text is UTF-8) and are never meant by a person.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from backend.errors import InvalidInput

# C0 controls other than tab, line feed and carriage return; DEL; lone surrogates.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

_MESSAGES: dict[str, str] = {
    "missing": "必须填写",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "literal_error": "只能是以下值之一：{expected}",
    "enum": "只能是以下值之一：{expected}",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD）",
    "datetime_type": "应为时间（ISO 8601）",
    "datetime_parsing": "应为时间（ISO 8601）",
    "datetime_from_date_parsing": "应为时间（ISO 8601）",
    "decimal_type": "应为金额",
    "decimal_parsing": "应为金额",
    "decimal_max_digits": "位数过多",
    "decimal_max_places": "小数位数不能超过 {decimal_places} 位",
    "decimal_whole_digits": "整数部分位数过多",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "value_error": "取值不正确",
    "assertion_error": "取值不正确",
    "union_tag_invalid": "类型不正确",
    "union_tag_not_found": "缺少类型字段",
    "invalid_text": "含有不可见的控制字符或无效字符",
}
_FALLBACK = "取值不正确"


def _sentence(error_type: str, ctx: dict[str, Any]) -> str:
    template = _MESSAGES.get(error_type, _FALLBACK)
    try:
        return template.format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return _FALLBACK


def _field(loc: tuple[Any, ...], where: str) -> str:
    path = ".".join(str(p) for p in loc)
    return path or ("(query)" if where == "query" else "(body)")


def validation_details(exc: ValidationError, *, where: str = "body") -> dict[str, Any]:
    """``details`` of a 422: one entry per problem, in Chinese, with its stable code."""
    return {
        "fields": [
            {
                "field": _field(e["loc"], where),
                "code": e["type"],
                "problem": _sentence(e["type"], e.get("ctx") or {}),
            }
            for e in exc.errors(include_url=False)
        ]
    }


def _bad_text_at(value: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    if isinstance(value, str):
        return loc if _BAD_TEXT.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _bad_text_at(key, (*loc, "(key)")) or _bad_text_at(item, (*loc, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_text_at(item, (*loc, i))
            if found is not None:
                return found
    return None


def check_text(payload: Any, *, where: str = "body") -> None:
    """Refuse lone surrogates and control characters anywhere in a JSON body or a query."""
    loc = _bad_text_at(payload, ())
    if loc is not None:
        raise InvalidInput(
            code="INVALID_TEXT",
            fields=[
                {
                    "field": _field(loc, where),
                    "code": "invalid_text",
                    "problem": _MESSAGES["invalid_text"],
                }
            ],
        )
