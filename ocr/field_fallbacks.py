"""Fields read without their usual label: the capital amount with glyph errors, a hospital name
wrapped onto a second line or printed as a heading, the invoice number after "No", the total
after ¥, and the visit type from the title."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocr.checks import UPPER_CHARS, amount_to_upper, to_decimal
from ocr.engines import TextLine
from ocr.field_labels import (
    LABEL_TAIL,
    NUMBER_PREFIX,
    SPEC_BY_KEY,
    Field,
    find_label,
    neighbour_value,
    starts_with_label,
    value_from,
)
from ocr.field_values import CJK, CJK_RE, ORG_ENDINGS, ORG_RE


def upper_from_glyph_errors(lines: Sequence[TextLine], total: Field) -> Field | None:
    """The capital amount when the OCR turned one or two of its characters into something that
    is no capital digit at all (玖 → 政): if the text after a 大写 label differs from the capital
    form of the numeric total only at such characters, it is that form (lower confidence).
    A misread into another capital digit stays unparsed: that is a real disagreement."""
    if total.value is None:
        return None
    expected = amount_to_upper(total.value)
    spec = SPEC_BY_KEY["total_amount_upper"]
    for label in spec.labels:
        for line in lines:
            for _i, j in find_label(line.norm, spec, label):
                rest = line.norm[j:]
                start = j + LABEL_TAIL.match(rest).end()  # type: ignore[union-attr]
                seg = line.norm[start : start + len(expected)]
                if len(seg) != len(expected):
                    continue
                diff = [k for k, (a, b) in enumerate(zip(seg, expected, strict=True)) if a != b]
                if 0 < len(diff) <= 2 and all(seg[k] not in UPPER_CHARS for k in diff):
                    box, conf = line.span(start, start + len(expected))
                    return Field(spec.key, expected, round(min(conf, 0.6), 4), box)
    return None


def org_continuation(lines: Sequence[TextLine], got: Field) -> Field:
    """A long institution name wrapped onto the next line of a narrow cell: join the line just
    below the value when it starts under it and completes the name (ends like one)."""
    if got.box is None or got.value is None or got.value.endswith(ORG_ENDINGS):
        return got
    x0, _, x1, y1 = got.box
    h = max(got.box[3] - got.box[1], 1.0)
    for ln in lines:
        t = ln.norm.strip()
        if not (0 <= ln.box[1] - y1 < 0.8 * h and abs(ln.box[0] - x0) < 1.5 * h):
            continue
        if starts_with_label(t) or not t.endswith(ORG_ENDINGS):
            continue
        m = ORG_RE.fullmatch(t) or re.fullmatch(f"[{CJK}]{{1,3}}", t)
        if m is None:
            continue
        box = (min(x0, ln.box[0]), got.box[1], max(x1, ln.box[2]), ln.box[3])
        conf = round(min(got.confidence, ln.confidence), 4)
        return Field(got.key, got.value + t, conf, box)
    return got


_UNLABELLED_ORG = re.compile(f"[{CJK}][{CJK}0-9()（）·]{{1,28}}(?:{'|'.join(ORG_ENDINGS)})")


def hospital_fallback(lines: Sequence[TextLine]) -> Field | None:
    """No 收款单位-style label: a line that is nothing but an institution's name (the issuing
    hospital printed as a heading). Seal text is curved and read in fragments, so the line
    must be a whole name of at least 4 Chinese characters and not a title (票据, 发票)."""
    best: tuple[float, TextLine, re.Match[str]] | None = None
    for ln in lines:
        t = ln.norm.strip()
        m = _UNLABELLED_ORG.fullmatch(t)
        if not m or "票据" in t or "发票" in t or len(CJK_RE.findall(t)) < 4:
            continue
        score = ln.confidence * ln.height
        if best is None or score > best[0]:
            best = (score, ln, m)
    if best is None:
        return None
    _, ln, m = best
    start = len(ln.norm) - len(ln.norm.lstrip())
    box, conf = ln.span(start, start + len(m.group()))
    return Field("hospital_name", m.group(), round(conf * 0.9, 4), box)


def invoice_number_fallback(lines: Sequence[TextLine]) -> Field | None:
    for line in lines:
        m = NUMBER_PREFIX.search(line.norm)
        if m:
            box, conf = line.span(m.start(1), m.end(1))
            return Field("invoice_number", m.group(1), round(conf, 4), box)
    # "No" printed in its own cell, the number right of it
    for line in lines:
        if re.fullmatch(r"\s*(N[oO0]|№)\s*[.:]?\s*", line.norm):
            got = neighbour_value(lines, line, SPEC_BY_KEY["invoice_number"])
            if got:
                return got
    return None


def total_fallback(lines: Sequence[TextLine], upper: Field | None) -> Field | None:
    """Total without a 小写 label: the ¥ amount, else the amount on the 大写 row."""
    for line in lines:
        m = re.search(r"[¥￥]\s*(\d[\d,]*\.\d{2})", line.text)
        if m:
            d = to_decimal(m.group(1))
            if d is not None:
                box, conf = line.span(m.start(1), m.end(1))
                return Field("total_amount", f"{d:.2f}", round(conf, 4), box)
    if upper is not None and upper.box is not None:
        ub = upper.box
        h = ub[3] - ub[1]
        row = [
            ln
            for ln in lines
            if min(ln.box[3], ub[3]) - max(ln.box[1], ub[1]) > 0.5 * h and ln.box[0] > ub[2]
        ]
        for ln in sorted(row, key=lambda x: x.box[0]):
            got = value_from(ln, 0, SPEC_BY_KEY["total_amount"])
            if got:
                got.confidence = round(got.confidence * 0.9, 4)
                return got
    return None


def visit_type(lines: Sequence[TextLine]) -> Field | None:
    for line in lines[:12]:
        t = line.norm
        if "票据" in t or "发票" in t or "收费" in t:
            for word, value in (("门诊", "outpatient"), ("住院", "inpatient")):
                k = t.find(word)
                if k >= 0:
                    box, conf = line.span(k, k + 2)
                    return Field("visit_type", value, round(conf, 4), box)
    joined = [ln.norm for ln in lines]
    if any(t.startswith(("住院号", "住院时间", "住院科别", "住院日期")) for t in joined):
        return Field("visit_type", "inpatient", 0.6, None)
    if any(t.startswith("门诊号") for t in joined):
        return Field("visit_type", "outpatient", 0.6, None)
    return None
