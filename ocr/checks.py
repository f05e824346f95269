"""Consistency checks on an invoice reading, in Decimal only (never float).

- the capital amount (合计大写) must equal the numeric total (合计小写);
- the items must sum to the total;
- the payments (统筹 + 其他 + 个人账户 + 个人现金) must add up to the total;
- identifiers and the date must have a plausible shape.

Each check is ``True`` / ``False``, or ``None`` when the fields it needs are missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_DIGIT_VALUE = {c: i for i, c in enumerate(DIGITS)}
# common variants and OCR-tolerant spellings of the capital digits
_DIGIT_VALUE.update({"〇": 0, "○": 0, "O": 0, "两": 2, "贰": 2, "弍": 2, "参": 3, "陸": 6})
_SMALL_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
UPPER_CHARS = set(_DIGIT_VALUE) | set(_SMALL_UNITS) | set(_BIG_UNITS) | set("元圆角分整正")


def to_decimal(value: Any) -> Decimal | None:
    """Parse a money value (``"1,234.50"``, ``"¥12.3"``, Decimal) to a 2-place Decimal."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    text = re.sub(r"[\s,，¥￥]", "", str(value))
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return None
    try:
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def _four_digits(n: int, *, leading: bool) -> str:
    """Capital text of 0 < n < 10000, with the 零 rules for inner and leading zeros."""
    out: list[str] = []
    zero_pending = not leading and n < 1000
    for unit_value, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        d = (n // unit_value) % 10
        if d == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(DIGITS[d] + unit)
    return "".join(out)


def amount_to_upper(amount: Decimal | str) -> str:
    """Render an amount the way invoices print 合计（大写）.

    ``Decimal("1023.05")`` → ``壹仟零贰拾叁元零伍分``; ``100`` → ``壹佰元整``;
    ``0.5`` → ``伍角``; ``0`` → ``零元整``; ``1000.5`` → ``壹仟元零伍角``.
    """
    value = to_decimal(amount)
    if value is None:
        raise ValueError(f"not an amount: {amount!r}")
    negative = value < 0
    value = abs(value)
    fen_total = int((value * 100).to_integral_value())
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)

    parts: list[str] = []
    if yuan:
        groups: list[int] = []
        n = yuan
        while n:
            groups.append(n % 10_000)
            n //= 10_000
        group_units = ["", "万", "亿", "万亿"]
        text = ""
        need_zero = False
        for idx in range(len(groups) - 1, -1, -1):
            g = groups[idx]
            if g == 0:
                need_zero = True
                continue
            leading = text == ""
            if not leading and (need_zero or g < 1000):
                text += "零"
            text += _four_digits(g, leading=True) + group_units[idx]
            need_zero = False
        parts.append(text + "元")
    if not jiao and not fen:
        return ("负" if negative else "") + ("".join(parts) if parts else "零元") + "整"
    if jiao:
        if yuan and yuan % 10 == 0:
            parts.append("零")
        parts.append(DIGITS[jiao] + "角")
    if fen:
        if yuan and not jiao:
            parts.append("零")
        parts.append(DIGITS[fen] + "分")
    return ("负" if negative else "") + "".join(parts)


def upper_to_amount(text: str) -> Decimal | None:
    """Parse a capital amount leniently (零/〇, 元/圆, optional 整/正, 两 for 贰).

    Returns ``None`` when the text is not a capital amount.
    """
    if not text:
        return None
    s = re.sub(r"[\s:：()（）人民币¥￥]", "", text)
    negative = s.startswith("负")
    s = s.lstrip("负")
    s = s.rstrip("整正")
    if not s or any(c not in UPPER_CHARS for c in s):
        return None

    yuan_part, _, frac_part = s.replace("圆", "元").partition("元")
    if "元" not in s.replace("圆", "元"):
        # no 元: only 角/分 are allowed (e.g. 伍角叁分)
        if not re.search("[角分]", s):
            return None
        yuan_part, frac_part = "", s

    def parse_section(chunk: str) -> int | None:
        total = 0
        digit: int | None = None
        for c in chunk:
            if c in _DIGIT_VALUE:
                digit = _DIGIT_VALUE[c]
            elif c in _SMALL_UNITS:
                total += (1 if digit is None else digit) * _SMALL_UNITS[c]
                digit = None
            else:
                return None
        return total + (digit or 0)

    def parse_int(chunk: str) -> int | None:
        for unit_char, mult in (("亿", 100_000_000), ("億", 100_000_000)):
            if unit_char in chunk:
                high, _, low = chunk.rpartition(unit_char)
                h, lo = parse_int(high), parse_int(low) if low else 0
                return None if h is None or lo is None else h * mult + lo
        for unit_char in ("万", "萬"):
            if unit_char in chunk:
                high, _, low = chunk.rpartition(unit_char)
                h, lo = parse_section(high), parse_section(low) if low else 0
                return None if h is None or lo is None else h * 10_000 + lo
        return parse_section(chunk)

    yuan = parse_int(yuan_part) if yuan_part else 0
    if yuan is None:
        return None
    jiao = fen = 0
    m = re.fullmatch(r"零?(?:(?P<j>[^角分零])角)?零?(?:(?P<f>[^角分零])分)?", frac_part)
    if m is None:
        return None
    if m.group("j"):
        jiao = _DIGIT_VALUE.get(m.group("j"), -1)
    if m.group("f"):
        fen = _DIGIT_VALUE.get(m.group("f"), -1)
    if jiao < 0 or fen < 0:
        return None
    value = Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
    return (-value if negative else value).quantize(CENT)


@dataclass(frozen=True)
class CheckResult:
    ok: bool | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def check_upper_matches_total(upper: str | None, total: Any) -> CheckResult:
    total_d = to_decimal(total)
    if not upper or total_d is None:
        return CheckResult(None, "缺少大写或小写金额")
    parsed = upper_to_amount(upper)
    if parsed is None:
        return CheckResult(False, f"大写金额无法解析：{upper}")
    if parsed == total_d:
        return CheckResult(True, f"大写 {parsed} = 小写 {total_d}")
    return CheckResult(False, f"大写 {parsed} ≠ 小写 {total_d}")


def check_items_sum(items: Iterable[Mapping[str, Any]] | None, total: Any) -> CheckResult:
    total_d = to_decimal(total)
    items = list(items or [])
    if not items or total_d is None:
        return CheckResult(None, "缺少收费项目或合计金额")
    read = [to_decimal(i.get("amount")) for i in items]
    amounts = [a for a in read if a is not None]
    if len(amounts) < len(read):
        return CheckResult(False, "有收费项目金额无法解析")
    s = sum(amounts, Decimal("0.00"))
    if s == total_d:
        return CheckResult(True, f"{len(items)} 项合计 {s} = {total_d}")
    return CheckResult(False, f"{len(items)} 项合计 {s} ≠ {total_d}")


PAYMENT_KEYS = ("fund_paid", "other_paid", "personal_account_paid", "personal_cash_paid")


def check_payments(values: Mapping[str, Any]) -> CheckResult:
    """统筹基金 + 其他支付 + 个人账户 + 个人现金 == 合计; 自付/自费 not above what the person paid.

    A missing 其他支付 counts as zero (many layouts omit it); the other three are needed.
    """
    total = to_decimal(values.get("total_amount"))
    if total is None:
        return CheckResult(None, "缺少合计金额")
    parts: dict[str, Decimal] = {}
    for key in PAYMENT_KEYS:
        v = to_decimal(values.get(key))
        if v is None:
            if key == "other_paid":
                v = Decimal("0.00")
            else:
                return CheckResult(None, f"缺少 {key}")
        parts[key] = v
    s = sum(parts.values(), Decimal("0.00"))
    if s != total:
        return CheckResult(False, f"各项支付合计 {s} ≠ 总金额 {total}")
    personal = parts["personal_account_paid"] + parts["personal_cash_paid"]
    own = sum(
        (to_decimal(values.get(k)) or Decimal("0.00") for k in ("self_pay", "self_expense")),
        Decimal("0.00"),
    )
    if own > personal:
        return CheckResult(False, f"个人自付+自费 {own} > 个人支付 {personal}")
    return CheckResult(True, f"各项支付合计 {s} = 总金额 {total}")


def check_formats(values: Mapping[str, Any]) -> CheckResult:
    problems: list[str] = []
    code = values.get("invoice_code")
    if code is not None and not re.fullmatch(r"\d{8,12}", str(code)):
        problems.append("票据代码应为 8–12 位数字")
    number = values.get("invoice_number")
    if number is not None and not re.fullmatch(r"\d{6,12}", str(number)):
        problems.append("票据号码应为 6–12 位数字")
    check = values.get("check_code")
    if check is not None and not re.fullmatch(r"[0-9A-Za-z]{4,20}", str(check)):
        problems.append("校验码字符不合法")
    issued = values.get("issue_date")
    if issued is not None:
        try:
            date.fromisoformat(str(issued))
        except ValueError:
            problems.append("开票日期不是有效日期")
    present = [k for k in ("invoice_code", "invoice_number", "issue_date") if values.get(k)]
    if not present:
        return CheckResult(None, "缺少票据代码、号码和日期")
    return CheckResult(not problems, "；".join(problems) or "格式正确")


def run_checks(values: Mapping[str, Any]) -> dict[str, CheckResult]:
    """All checks on plain field values (``{key: value}``, items as a list of dicts)."""
    return {
        "upper_matches_total": check_upper_matches_total(
            values.get("total_amount_upper"), values.get("total_amount")
        ),
        "items_sum_matches_total": check_items_sum(values.get("items"), values.get("total_amount")),
        "payments_add_up": check_payments(values),
        "formats_valid": check_formats(values),
    }
