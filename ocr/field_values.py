"""Value parsers of invoice fields: what a field's text must look like (codes, dates, amounts,
capital amounts, names of people and institutions, insurance types).

Each parser takes the text after a label and returns the value with its start and end in that
text, or None when the text is not such a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from ocr.checks import UPPER_CHARS, to_decimal

CJK = r"\u4e00-\u9fff"
CJK_RE = re.compile(f"[{CJK}]")

Parsed = tuple[str, int, int] | None  # value, start, end within the candidate text

DIGIT_FIX = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "B": "8", "S": "5"}
)


def digits(lo: int, hi: int) -> Callable[[str], Parsed]:
    def parse(text: str) -> Parsed:
        fixed = text.translate(DIGIT_FIX)
        m = re.search(rf"(?<!\d)\d{{{lo},{hi}}}(?!\d)", fixed)
        return (m.group(), m.start(), m.end()) if m else None

    return parse


def parse_check_code(text: str) -> Parsed:
    m = re.search(r"[0-9A-Za-z]{4,20}", text)
    return (m.group(), m.start(), m.end()) if m else None


_DATE_PATTERNS = [
    re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
    # one separator lost by the OCR (2025/1101, 202511/01)
    re.compile(r"(?<!\d)(\d{4})[-./年](\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})[-./月](\d{2})(?!\d)"),
]


def parse_date(text: str) -> Parsed:
    fixed = text.translate(DIGIT_FIX)
    for pat in _DATE_PATTERNS:
        m = pat.search(fixed)
        if m:
            if not 1990 <= int(m.group(1)) <= 2100:
                continue
            try:
                d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
            return d.isoformat(), m.start(), m.end()
    return None


# thousands grouped with commas, or with points where the OCR took a comma for one
# (1.072.31): the last point before two digits is the decimal point
_AMOUNT_RE = re.compile(r"[-−]?(?:\d{1,3}(?:[,.]\d{3})+|\d{1,9})\.\d{2}(?!\d)")


def parse_amount(text: str) -> Parsed:
    fixed = text.translate(DIGIT_FIX).replace("，", ",").replace("。", ".")
    m = _AMOUNT_RE.search(fixed)
    if not m:
        return None
    whole, cents = m.group().replace("−", "-").rsplit(".", 1)
    d = to_decimal(whole.replace(",", "").replace(".", "") + "." + cents)
    return (f"{d:.2f}", m.start(), m.end()) if d is not None else None


def parse_upper(text: str) -> Parsed:
    best: tuple[int, int] | None = None
    start = None
    for i, c in enumerate(text + " "):
        if c in UPPER_CHARS:
            if start is None:
                start = i
        elif start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None or best[1] - best[0] < 2:
        return None
    value = text[best[0] : best[1]]
    if not re.search("[元圆角分]", value):
        return None
    return value, best[0], best[1]


def parse_person(text: str) -> Parsed:
    m = re.search(f"[{CJK}·]{{2,6}}", text)
    return (m.group(), m.start(), m.end()) if m else None


_ORG_SUFFIX = re.compile(
    r"[(（]\s*[章盖印][)）]?|[(（]\s*$|(?:财务|收费|发票|票据)?专用章$|[(（]?\s*盖?章\s*[)）]?$"
)
# what is left of a label's "(章)" before the name when OCR drops its opening bracket
_ORG_LEAD = re.compile(r"^[(（]?\s*盖?章\s*[)）]\s*")
# an institution's name: Chinese with the digits, letters and brackets some names carry
# (解放军第306医院, 第2人民医院), starting with a Chinese character
ORG_RE = re.compile(f"[{CJK}][{CJK}0-9A-Za-z()（）·]{{3,39}}")
# what a seal's curved text leaves glued after a name (…医院用章, …医院财务专)
_SEAL_TAIL = re.compile(r"(医院|卫生院|保健院|中心|诊所|门诊部)[财务收费发票据专用章盖印]{1,6}$")
ORG_ENDINGS = (
    "医院",
    "卫生院",
    "保健院",
    "保健站",
    "卫生服务中心",
    "卫生服务站",
    "医疗中心",
    "门诊部",
    "诊所",
    "卫生室",
    "医务室",
    "中心",
    "研究所",
)


def parse_org(text: str) -> Parsed:
    m = ORG_RE.search(text)
    if not m:
        return None
    lead = _ORG_LEAD.match(m.group())
    start = m.start() + (lead.end() if lead else 0)
    value = _ORG_SUFFIX.sub("", text[start : m.end()]).rstrip("(（")
    value = _SEAL_TAIL.sub(r"\1", value)
    value = re.sub(r"[0-9A-Za-z·]+$", "", value)  # a number glued on after the name
    if value.count("(") + value.count("（") != value.count(")") + value.count("）"):
        value = value.strip("()（）")
    if len(CJK_RE.findall(value)) < 4:
        return None
    return value, start, start + len(value)


INSURANCE_VOCAB = [
    "职工基本医疗保险",
    "城乡居民基本医疗保险",
    "城镇居民基本医疗保险",
    "新型农村合作医疗",
    "职工医保",
    "居民医保",
    "离休人员医疗保障",
    "公费医疗",
    "自费",
]


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def parse_insurance(text: str) -> Parsed:
    m = re.search(f"[{CJK}]{{2,20}}", text)
    if not m:
        return None
    raw = m.group()
    best = min(INSURANCE_VOCAB, key=lambda v: _edit_distance(raw, v))
    if _edit_distance(raw, best) <= max(1, len(best) // 5):
        return best, m.start(), m.end()
    return raw, m.start(), m.end()
