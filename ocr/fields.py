"""Field extraction from OCR text lines with boxes (not from flattened text).

Every field has label synonyms used by the national template and by provincial layouts.
A label is looked up in the lines; its value is, in order of preference:
1. the rest of the same line after the label (``票据代码：44010125``), cut at the next label;
2. the nearest line to the right on the same row (label and value in separate cells);
3. the nearest line below, under the label (label row above value row).
The candidate must parse as the field's kind (digits, date, amount, capital amount, name...).

Items come from the table between the 项目/金额 header row and the 合计 row, column by column,
splitting glued cells at the header's column boundaries using per-character boxes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ocr.checks import UPPER_CHARS, amount_to_upper, to_decimal
from ocr.engines import TextLine

Box = tuple[float, float, float, float]

CJK = r"\u4e00-\u9fff"
_CJK_RE = re.compile(f"[{CJK}]")


@dataclass
class Field:
    key: str
    value: str | None
    confidence: float
    box: Box | None
    source: str = "ocr"


@dataclass
class Item:
    name: str
    amount: str
    confidence: float
    box: Box | None
    code: str = ""  # the national code (医保编码), where the invoice prints one


@dataclass
class Extraction:
    fields: dict[str, Field] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    items_confidence: float = 0.0
    items_box: Box | None = None

    def values(self) -> dict[str, object]:
        out: dict[str, object] = {k: f.value for k, f in self.fields.items()}
        out["items"] = [item_value(i) for i in self.items]
        return out


# ----------------------------------------------------------------------------- value parsers

Parsed = tuple[str, int, int] | None  # value, start, end within the candidate text

_DIGIT_FIX = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "B": "8", "S": "5"}
)


def _digits(lo: int, hi: int) -> Callable[[str], Parsed]:
    def parse(text: str) -> Parsed:
        fixed = text.translate(_DIGIT_FIX)
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
    fixed = text.translate(_DIGIT_FIX)
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
    fixed = text.translate(_DIGIT_FIX).replace("，", ",").replace("。", ".")
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
_ORG_RE = re.compile(f"[{CJK}][{CJK}0-9A-Za-z()（）·]{{3,39}}")
# what a seal's curved text leaves glued after a name (…医院用章, …医院财务专)
_SEAL_TAIL = re.compile(r"(医院|卫生院|保健院|中心|诊所|门诊部)[财务收费发票据专用章盖印]{1,6}$")
ORG_ENDINGS = ("医院", "卫生院", "保健院", "保健站", "卫生服务中心", "卫生服务站", "医疗中心",
               "门诊部", "诊所", "卫生室", "医务室", "中心", "研究所")  # fmt: skip


def parse_org(text: str) -> Parsed:
    m = _ORG_RE.search(text)
    if not m:
        return None
    lead = _ORG_LEAD.match(m.group())
    start = m.start() + (lead.end() if lead else 0)
    value = _ORG_SUFFIX.sub("", text[start : m.end()]).rstrip("(（")
    value = _SEAL_TAIL.sub(r"\1", value)
    value = re.sub(r"[0-9A-Za-z·]+$", "", value)  # a number glued on after the name
    if value.count("(") + value.count("（") != value.count(")") + value.count("）"):
        value = value.strip("()（）")
    if len(_CJK_RE.findall(value)) < 4:
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


# ----------------------------------------------------------------------------- field specs


@dataclass(frozen=True)
class Spec:
    key: str
    labels: tuple[str, ...]
    parse: Callable[[str], Parsed]
    # a label match is ignored when directly preceded / followed by these characters
    not_after: str = ""
    not_before: str = ""


AMOUNT_NOT_BEFORE = ""

SPECS: list[Spec] = [
    Spec("invoice_code", ("电子票据代码", "票据代码", "发票代码"), _digits(8, 12)),
    Spec(
        "invoice_number", ("电子票据号码", "票据号码", "发票号码", "票据号", "票号"), _digits(6, 12)
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


def _norm(line: TextLine) -> str:
    return line.norm


def _find_label(text: str, spec: Spec, label: str) -> list[tuple[int, int]]:
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


def _starts_with_label(text: str) -> bool:
    t = text.lstrip(" :")
    return any(t.startswith(lb) for lb in CUT_LABELS)


def _v_overlap(a: TextLine, b: TextLine) -> float:
    inter = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return max(inter, 0) / max(min(a.height, b.height), 1)


def _h_overlap(a: TextLine, b: TextLine) -> float:
    inter = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return max(inter, 0) / max(min(a.box[2] - a.box[0], b.box[2] - b.box[0]), 1)


def _value_from(line: TextLine, start: int, spec: Spec) -> Field | None:
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


_LABEL_TAIL = re.compile(r"^[\s:;]*(?:\(?(?:盖)?章\)|\(元\))?[\s:;]*")


def _extract_field(lines: Sequence[TextLine], spec: Spec) -> Field | None:
    for label in spec.labels:
        for line in lines:
            for _i, j in _find_label(line.norm, spec, label):
                got = _value_from(line, j, spec)
                if got is not None:
                    return got
                rest = line.norm[j:]
                rest = rest[_LABEL_TAIL.match(rest).end() :]  # type: ignore[union-attr]
                if rest and not _starts_with_label(rest):
                    continue  # something unreadable follows the label: not this one
                got = _neighbour_value(lines, line, spec)
                if got is not None:
                    return got
    return None


def _neighbour_value(lines: Sequence[TextLine], label: TextLine, spec: Spec) -> Field | None:
    h = max(label.height, 1)
    right = [
        ln
        for ln in lines
        if ln is not label
        and _v_overlap(ln, label) > 0.5
        and ln.box[0] >= label.box[2] - 0.5 * h
        and ln.box[0] - label.box[2] < 12 * h
    ]
    right.sort(key=lambda ln: ln.box[0])
    if right and not _starts_with_label(right[0].norm):
        got = _value_from(right[0], 0, spec)
        if got is not None:
            return got
    below = [
        ln
        for ln in lines
        if ln is not label
        and ln.box[1] >= label.box[3] - 0.3 * h
        and ln.box[1] - label.box[3] < 2.5 * h
        and (_h_overlap(ln, label) > 0.3 or abs(ln.box[0] - label.box[0]) < 1.5 * h)
    ]
    below.sort(key=lambda ln: ln.box[1])
    if below and not _starts_with_label(below[0].norm):
        got = _value_from(below[0], 0, spec)
        if got is not None:
            return got
    return None


# ----------------------------------------------------------------------------- special cases


def _upper_from_glyph_errors(lines: Sequence[TextLine], total: Field) -> Field | None:
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
            for _i, j in _find_label(line.norm, spec, label):
                rest = line.norm[j:]
                start = j + _LABEL_TAIL.match(rest).end()  # type: ignore[union-attr]
                seg = line.norm[start : start + len(expected)]
                if len(seg) != len(expected):
                    continue
                diff = [k for k, (a, b) in enumerate(zip(seg, expected, strict=True)) if a != b]
                if 0 < len(diff) <= 2 and all(seg[k] not in UPPER_CHARS for k in diff):
                    box, conf = line.span(start, start + len(expected))
                    return Field(spec.key, expected, round(min(conf, 0.6), 4), box)
    return None


def _org_continuation(lines: Sequence[TextLine], got: Field) -> Field:
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
        if _starts_with_label(t) or not t.endswith(ORG_ENDINGS):
            continue
        m = _ORG_RE.fullmatch(t) or re.fullmatch(f"[{CJK}]{{1,3}}", t)
        if m is None:
            continue
        box = (min(x0, ln.box[0]), got.box[1], max(x1, ln.box[2]), ln.box[3])
        conf = round(min(got.confidence, ln.confidence), 4)
        return Field(got.key, got.value + t, conf, box)
    return got


_UNLABELLED_ORG = re.compile(f"[{CJK}][{CJK}0-9()（）·]{{1,28}}(?:{'|'.join(ORG_ENDINGS)})")


def _hospital_fallback(lines: Sequence[TextLine]) -> Field | None:
    """No 收款单位-style label: a line that is nothing but an institution's name (the issuing
    hospital printed as a heading). Seal text is curved and read in fragments, so the line
    must be a whole name of at least 4 Chinese characters and not a title (票据, 发票)."""
    best: tuple[float, TextLine, re.Match[str]] | None = None
    for ln in lines:
        t = ln.norm.strip()
        m = _UNLABELLED_ORG.fullmatch(t)
        if not m or "票据" in t or "发票" in t or len(_CJK_RE.findall(t)) < 4:
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


def _invoice_number_fallback(lines: Sequence[TextLine]) -> Field | None:
    for line in lines:
        m = NUMBER_PREFIX.search(line.norm)
        if m:
            box, conf = line.span(m.start(1), m.end(1))
            return Field("invoice_number", m.group(1), round(conf, 4), box)
    # "No" printed in its own cell, the number right of it
    for line in lines:
        if re.fullmatch(r"\s*(N[oO0]|№)\s*[.:]?\s*", line.norm):
            got = _neighbour_value(lines, line, SPEC_BY_KEY["invoice_number"])
            if got:
                return got
    return None


def _total_fallback(lines: Sequence[TextLine], upper: Field | None) -> Field | None:
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
            got = _value_from(ln, 0, SPEC_BY_KEY["total_amount"])
            if got:
                got.confidence = round(got.confidence * 0.9, 4)
                return got
    return None


def _visit_type(lines: Sequence[TextLine]) -> Field | None:
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


# ----------------------------------------------------------------------------- items


def item_value(item: Item) -> dict[str, str]:
    """Name and amount, and the code when one was read."""
    out = {"name": item.name, "amount": item.amount}
    if item.code:
        out["code"] = item.code
    return out


NAME_HEADERS = ("项目名称", "收费项目", "项目", "名称")
AMOUNT_HEADERS = ("金额",)
CODE_HEADERS = ("项目编码", "医保编码", "国家编码", "编码")
COLUMN_HEADERS = (*NAME_HEADERS, *AMOUNT_HEADERS, *CODE_HEADERS, "数量", "单位", "规格", "单价",
                  "备注", "等级", "类别", "比例", "自付比例", "标准", "计价")  # fmt: skip
# the shapes of national codes: drugs X… (24) and Z… (21), services 15 digits, materials C… (27);
# the catalogue decides whether a code read is one it knows
_ITEM_CODE_RE = re.compile(r"[XZ][A-Z][0-9]{2}[A-Z]{3}[0-9A-Z]{14,17}|C[0-9]{26}|[0-9]{15}")
_ITEM_NAME_RE = re.compile(f"[{CJK}A-Za-z()（）/]{{2,20}}")
_STOP_WORDS = ("合计", "大写", "小写", "总计", "支付", "收款")


def _char_slice(line: TextLine, a: int, b: int) -> TextLine:
    box, conf = line.span(a, b)
    chars = line.chars[a:b] if line.chars and len(line.chars) == len(line.text) else []
    return TextLine(text=line.text[a:b], confidence=conf, box=box, chars=chars)


def _split_by_columns(line: TextLine, bounds: list[float]) -> list[TextLine]:
    """Cut a line at column boundaries using per-character x positions."""
    if not line.chars or len(line.chars) != len(line.text):
        return [line]
    cols = [sum(1 for b in bounds if (c.x0 + c.x1) / 2 >= b) for c in line.chars]
    pieces, start = [], 0
    for k in range(1, len(cols) + 1):
        if k == len(cols) or cols[k] != cols[start]:
            piece = _char_slice(line, start, k)
            if piece.text.strip():
                pieces.append(piece)
            start = k
    return pieces


def _code_text(cell: TextLine) -> str:
    return cell.norm.replace(" ", "").upper()


def _row_code(codes: list[TextLine], name_cell: TextLine) -> str:
    """The national code printed in the name's row, or ''."""
    row = [c for c in codes if _v_overlap(c, name_cell) > 0.4]
    if not row:
        return ""
    cell = min(row, key=lambda c: abs(c.cy - name_cell.cy))
    m = _ITEM_CODE_RE.search(_code_text(cell))
    return m.group() if m else ""


def extract_items(lines: Sequence[TextLine]) -> tuple[list[Item], float, Box | None]:
    heads = [ln for ln in lines if ln.norm.strip() in NAME_HEADERS]
    if not heads:
        return [], 0.0, None
    top_row = min(h.cy for h in heads)
    heads = [h for h in heads if abs(h.cy - top_row) < h.height]
    heads.sort(key=lambda h: h.box[0])
    header_line_h = max(h.height for h in heads)
    # header cells are short labels of the header's height: a seal's curved text crossing the
    # row (a tall, tilted box) would push the table's top below its first rows
    # and words that head columns (a seal's 收费专用章 between two headers is no column)
    header_row = [
        ln
        for ln in lines
        if abs(ln.cy - top_row) < header_line_h * 0.7
        and ln.height < 1.6 * header_line_h
        and ln.norm.strip().startswith(COLUMN_HEADERS)
    ]
    amount_heads = [ln for ln in header_row if ln.norm.strip().startswith(AMOUNT_HEADERS)]
    if not amount_heads:
        return [], 0.0, None
    y_top = max(h.box[3] for h in header_row)
    stops = [
        ln.box[1] for ln in lines if ln.box[1] > y_top and any(w in ln.norm for w in _STOP_WORDS)
    ]
    y_end = min(stops) if stops else float("inf")
    page_right = max(ln.box[2] for ln in lines) + 1
    # a block starts at its name header, or at the code column printed just left of it
    ordered = sorted(header_row, key=lambda c: c.box[0])
    starts = []
    for head in heads:
        k = next((k for k, c in enumerate(ordered) if c is head), 0)
        left = ordered[k - 1] if k else head
        start = left if left.norm.strip().startswith(CODE_HEADERS) else head
        starts.append(start.box[0] - header_line_h)
    items: list[Item] = []
    for bi, head in enumerate(heads):
        x_lo = starts[bi]
        x_hi = starts[bi + 1] if bi + 1 < len(heads) else page_right
        cols = sorted((c for c in header_row if x_lo <= c.cx < x_hi), key=lambda c: c.box[0])
        amount_cols = [c for c in cols if c.norm.strip().startswith(AMOUNT_HEADERS)]
        if not amount_cols:
            continue
        amount_col = amount_cols[0]
        bounds = [c.box[0] - 0.6 * header_line_h for c in cols[1:]]
        amount_idx = cols.index(amount_col)
        code_idx = next(
            (k for k, c in enumerate(cols) if c.norm.strip().startswith(CODE_HEADERS)), None
        )
        body = [
            ln
            for ln in lines
            if y_top - 2 < ln.box[1] and ln.box[3] < y_end + 2 and x_lo <= ln.cx < x_hi
        ]
        cells: list[tuple[int, TextLine]] = []
        for ln in body:
            for piece in _split_by_columns(ln, bounds):
                col = sum(1 for b in bounds if piece.cx >= b)
                cells.append((col, piece))
        name_idx = next((k for k, c in enumerate(cols) if c is head), 0)
        names = [(c, p) for c, p in cells if c == name_idx and _ITEM_NAME_RE.search(p.norm)]
        amounts = [p for c, p in cells if c == amount_idx and parse_amount(p.norm)]
        codes = [p for c, p in cells if c == code_idx and _ITEM_CODE_RE.search(_code_text(p))]
        for _, name_cell in sorted(names, key=lambda cp: cp[1].cy):
            row = [a for a in amounts if _v_overlap(a, name_cell) > 0.4]
            if not row:
                continue
            amt_cell = min(row, key=lambda a: abs(a.cy - name_cell.cy))
            parsed = parse_amount(amt_cell.norm)
            m = _ITEM_NAME_RE.search(name_cell.norm)
            if not parsed or not m:
                continue
            nbox, nconf = name_cell.span(m.start(), m.end())
            abox, aconf = amt_cell.span(parsed[1], parsed[2])
            box = (
                min(nbox[0], abox[0]),
                min(nbox[1], abox[1]),
                max(nbox[2], abox[2]),
                max(nbox[3], abox[3]),
            )
            code = _row_code(codes, name_cell)
            items.append(Item(m.group(), parsed[0], round(min(nconf, aconf), 4), box, code))
    if not items:
        return [], 0.0, None
    conf = min(i.confidence for i in items)
    boxes = [i.box for i in items if i.box]
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return items, conf, box


# ----------------------------------------------------------------------------- entry point


def extract_fields(lines: Sequence[TextLine]) -> Extraction:
    """Canonical fields from OCR lines (in reading order) of one upright receipt."""
    ex = Extraction()
    for spec in SPECS:
        got = _extract_field(lines, spec)
        if got is not None:
            ex.fields[spec.key] = got
    if "invoice_number" not in ex.fields:
        got = _invoice_number_fallback(lines)
        if got:
            ex.fields["invoice_number"] = got
    if "total_amount" not in ex.fields:
        got = _total_fallback(lines, ex.fields.get("total_amount_upper"))
        if got:
            ex.fields["total_amount"] = got
    if "total_amount_upper" not in ex.fields and "total_amount" in ex.fields:
        got = _upper_from_glyph_errors(lines, ex.fields["total_amount"])
        if got:
            ex.fields["total_amount_upper"] = got
    if "hospital_name" in ex.fields:
        ex.fields["hospital_name"] = _org_continuation(lines, ex.fields["hospital_name"])
    else:
        got = _hospital_fallback(lines)
        if got:
            ex.fields["hospital_name"] = got
    vt = _visit_type(lines)
    if vt:
        ex.fields["visit_type"] = vt
    ex.items, ex.items_confidence, ex.items_box = extract_items(lines)
    return ex


def total_from_items(items: Sequence[Item]) -> Decimal:
    return sum((Decimal(i.amount) for i in items), Decimal("0.00"))
