"""Labelled fields: each field's label synonyms (national template and provincial layouts),
and its value found next to a label in the OCR lines (with boxes). In order of preference:
1. the rest of the same line after the label (``票据代码：44010125``), cut at the next label;
2. the nearest line to the right on the same row (label and value in separate cells);
3. the nearest line below, under the label (label row above value row).
The candidate must parse as the field's kind (see :mod:`ocr.field_values`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ocr.engines import TextLine
from ocr.field_values import (
    Parsed,
    digits,
    parse_amount,
    parse_check_code,
    parse_date,
    parse_insurance,
    parse_org,
    parse_person,
    parse_upper,
)

Box = tuple[float, float, float, float]


@dataclass
class Field:
    key: str
    value: str | None
    confidence: float
    box: Box | None
    source: str = "ocr"


@dataclass(frozen=True)
class Spec:
    key: str
    labels: tuple[str, ...]
    parse: Callable[[str], Parsed]
    # a label match is ignored when directly preceded / followed by these characters
    not_after: str = ""
    not_before: str = ""


SPECS: list[Spec] = [
    Spec("invoice_code", ("电子票据代码", "票据代码", "发票代码"), digits(8, 12)),
    Spec(
        "invoice_number", ("电子票据号码", "票据号码", "发票号码", "票据号", "票号"), digits(6, 12)
    ),
    Spec("check_code", ("校验码", "检验码"), parse_check_code),
    Spec(
        "issue_date",
        ("开票日期", "开具日期", "收费日期", "日期"),
        parse_date,
        not_after="诊院出入就费",
    ),
    Spec(
        "payer_name",
        ("交款人", "缴款人", "患者姓名", "病人姓名", "姓名"),
        parse_person,
        not_before="统",
    ),
    Spec(
        "hospital_name",
        (
            "收款单位名称",
            "收款单位",
            "医疗机构名称",
            "定点医疗机构",
            "医疗机构",
            "医院名称",
            "就诊医院",
            "就诊机构",
            "收费单位",
            "开票单位",
        ),
        parse_org,
        not_before="类编代",
    ),
    Spec(
        "insurance_type",
        ("医保类型", "医保类别", "医疗保险类型", "医疗保险类别", "参保类型"),
        parse_insurance,
    ),
    Spec(
        "total_amount_upper",
        ("合计人民币(大写)", "金额合计(大写)", "合计(大写)", "大写"),
        parse_upper,
    ),
    Spec("total_amount", ("合计(小写)", "金额合计(小写)", "(小写)", "小写"), parse_amount),
    Spec(
        "fund_paid",
        ("医保统筹基金支付", "统筹基金支付", "医保统筹支付", "统筹支付", "基金支付"),
        parse_amount,
    ),
    Spec("other_paid", ("其他支付", "其它支付"), parse_amount),
    Spec(
        "personal_account_paid",
        (
            "个人账户支付",
            "个人帐户支付",
            "账户支付",
            "帐户支付",
            "个人账户",
            "个人帐户",
            "个账支付",
        ),
        parse_amount,
        not_before="余",
    ),
    Spec("personal_cash_paid", ("个人现金支付", "现金支付"), parse_amount),
    Spec("self_pay", ("个人自付", "自付金额", "自付"), parse_amount, not_after="人"),
    Spec("self_expense", ("个人自费", "自费金额", "自费"), parse_amount, not_after="人"),
]
SPEC_BY_KEY = {s.key: s for s in SPECS}
ALL_LABELS = sorted(
    {lb for s in SPECS for lb in s.labels}
    | {
        "门诊号",
        "住院号",
        "业务流水号",
        "性别",
        "复核人",
        "收款人",
        "医疗机构类型",
        "就诊日期",
        "住院日期",
        "住院时间",
        "住院科别",
        "科别",
        "医保编号",
        "交款人统一社会信用代码",
        "备注",
    },
    key=len,
    reverse=True,
)

NUMBER_PREFIX = re.compile(r"(?:N[oO0º°]|№)\s*[.:]?\s*(\d{6,12})(?!\d)")


def find_label(text: str, spec: Spec, label: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        i = text.find(label, start)
        if i < 0:
            return out
        j = i + len(label)
        before_ok = not (spec.not_after and i > 0 and text[i - 1] in spec.not_after)
        after_ok = not (spec.not_before and j < len(text) and text[j] in spec.not_before)
        if before_ok and after_ok:
            out.append((i, j))
        start = i + 1


# labels that end a value when they follow it on the same line (not the 2-character
# amount labels, which are also values: 医保类型：自费)
CUT_LABELS = [lb for lb in ALL_LABELS if len(lb) >= 3 or lb in ("姓名", "日期", "性别", "科别")]


def _next_label_pos(text: str, start: int) -> int:
    best = len(text)
    for lb in CUT_LABELS:
        k = text.find(lb, start)
        if 0 <= k < best:
            best = k
    return best


def starts_with_label(text: str) -> bool:
    t = text.lstrip(" :")
    return any(t.startswith(lb) for lb in CUT_LABELS)


def v_overlap(a: TextLine, b: TextLine) -> float:
    inter = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return max(inter, 0) / max(min(a.height, b.height), 1)


def h_overlap(a: TextLine, b: TextLine) -> float:
    inter = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return max(inter, 0) / max(min(a.box[2] - a.box[0], b.box[2] - b.box[0]), 1)


def value_from(line: TextLine, start: int, spec: Spec) -> Field | None:
    text = line.norm
    end = _next_label_pos(text, start)
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip(" :;,.、"))
    parsed = spec.parse(seg[lead:])
    if parsed is None:
        return None
    value, s, e = parsed
    a, b = start + lead + s, start + lead + e
    box, conf = line.span(a, b)
    return Field(spec.key, value, round(conf, 4), box)


LABEL_TAIL = re.compile(r"^[\s:;]*(?:\(?(?:盖)?章\)|\(元\))?[\s:;]*")


def extract_field(lines: Sequence[TextLine], spec: Spec) -> Field | None:
    for label in spec.labels:
        for line in lines:
            for _i, j in find_label(line.norm, spec, label):
                got = value_from(line, j, spec)
                if got is not None:
                    return got
                rest = line.norm[j:]
                rest = rest[LABEL_TAIL.match(rest).end() :]  # type: ignore[union-attr]
                if rest and not starts_with_label(rest):
                    continue  # something unreadable follows the label: not this one
                got = neighbour_value(lines, line, spec)
                if got is not None:
                    return got
    return None


def neighbour_value(lines: Sequence[TextLine], label: TextLine, spec: Spec) -> Field | None:
    h = max(label.height, 1)
    right = [
        ln
        for ln in lines
        if ln is not label
        and v_overlap(ln, label) > 0.5
        and ln.box[0] >= label.box[2] - 0.5 * h
        and ln.box[0] - label.box[2] < 12 * h
    ]
    right.sort(key=lambda ln: ln.box[0])
    if right and not starts_with_label(right[0].norm):
        got = value_from(right[0], 0, spec)
        if got is not None:
            return got
    below = [
        ln
        for ln in lines
        if ln is not label
        and ln.box[1] >= label.box[3] - 0.3 * h
        and ln.box[1] - label.box[3] < 2.5 * h
        and (h_overlap(ln, label) > 0.3 or abs(ln.box[0] - label.box[0]) < 1.5 * h)
    ]
    below.sort(key=lambda ln: ln.box[1])
    if below and not starts_with_label(below[0].norm):
        got = value_from(below[0], 0, spec)
        if got is not None:
            return got
    return None
