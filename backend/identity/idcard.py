"""Resident ID numbers (居民身份证号码, GB 11643-1999): 6-digit region, 8-digit birth date,
3-digit sequence (odd for men), and an ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from backend.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# The shape a request may have (a lowercase x is read as X); the check character and the birth
# date are checked by parse_id_number.
ID_NUMBER_PATTERN = "^[1-9][0-9]{16}[0-9Xx]$"
_SHAPE = re.compile(ID_NUMBER_PATTERN)


@dataclass(frozen=True)
class IdNumber:
    value: str
    region_code: str
    birth_date: date
    gender: str  # "M" or "F"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str, today: date) -> IdNumber:
    """Validate shape, birth date and check character; raise a clear 422 otherwise."""
    value = raw.strip().upper()
    if not _SHAPE.match(value):
        raise InvalidInput("身份证号码应为 18 位，最后一位可为数字或 X", code="ID_NUMBER_INVALID")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidInput("身份证号码中的出生日期无效", code="ID_NUMBER_INVALID") from exc
    if born > today or born.year < 1900:
        raise InvalidInput("身份证号码中的出生日期无效", code="ID_NUMBER_INVALID")
    if check_character(value[:17]) != value[17]:
        raise InvalidInput("身份证号码校验位不正确，请核对", code="ID_NUMBER_INVALID")
    gender = "M" if int(value[16]) % 2 else "F"
    return IdNumber(value=value, region_code=value[:6], birth_date=born, gender=gender)
