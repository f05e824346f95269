"""Invoice items from the table between the 项目/金额 header row and the 合计 row, column by
column, splitting glued cells at the header's column boundaries using per-character boxes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ocr.engines import TextLine
from ocr.field_labels import Box, v_overlap
from ocr.field_values import CJK, parse_amount


@dataclass
class Item:
    name: str
    amount: str
    confidence: float
    box: Box | None
    code: str = ""  # the national code (医保编码), where the invoice prints one


def item_value(item: Item) -> dict[str, str]:
    """Name and amount, and the code when one was read."""
    out = {"name": item.name, "amount": item.amount}
    if item.code:
        out["code"] = item.code
    return out


NAME_HEADERS = ("项目名称", "收费项目", "项目", "名称")
AMOUNT_HEADERS = ("金额",)
CODE_HEADERS = ("项目编码", "医保编码", "国家编码", "编码")
COLUMN_HEADERS = (
    *NAME_HEADERS,
    *AMOUNT_HEADERS,
    *CODE_HEADERS,
    "数量",
    "单位",
    "规格",
    "单价",
    "备注",
    "等级",
    "类别",
    "比例",
    "自付比例",
    "标准",
    "计价",
)
# the shapes of national codes: western drugs X… (23 characters), Chinese patent drugs Z… (20),
# services 15 digits, materials C… (27), with a character of slack for the drug codes;
# the catalogue decides whether a code read is one it knows
_ITEM_CODE_RE = re.compile(r"[XZ][A-Z][0-9]{2}[A-Z]{3}[0-9A-Z]{13,17}|C[0-9]{26}|[0-9]{15}")
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
    row = [c for c in codes if v_overlap(c, name_cell) > 0.4]
    if not row:
        return ""
    cell = min(row, key=lambda c: abs(c.cy - name_cell.cy))
    m = _ITEM_CODE_RE.search(_code_text(cell))
    return m.group() if m else ""


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass
class _Table:
    """The item table's header: one name header per block of columns, and the body's extent."""

    heads: list[TextLine]  # name headers, left to right
    header_row: list[TextLine]
    line_h: float
    y_top: float
    y_end: float
    starts: list[float]  # left edge of each block
    page_right: float


def _find_table(lines: Sequence[TextLine]) -> _Table | None:
    heads = [ln for ln in lines if ln.norm.strip() in NAME_HEADERS]
    if not heads:
        return None
    top_row = min(h.cy for h in heads)
    heads = [h for h in heads if abs(h.cy - top_row) < h.height]
    heads.sort(key=lambda h: h.box[0])
    line_h = max(h.height for h in heads)
    # header cells are short labels of the header's height: a seal's curved text crossing the
    # row (a tall, tilted box) would push the table's top below its first rows
    # and words that head columns (a seal's 收费专用章 between two headers is no column)
    header_row = [
        ln
        for ln in lines
        if abs(ln.cy - top_row) < line_h * 0.7
        and ln.height < 1.6 * line_h
        and ln.norm.strip().startswith(COLUMN_HEADERS)
    ]
    if not any(ln.norm.strip().startswith(AMOUNT_HEADERS) for ln in header_row):
        return None
    y_top = max(h.box[3] for h in header_row)
    stops = [
        ln.box[1] for ln in lines if ln.box[1] > y_top and any(w in ln.norm for w in _STOP_WORDS)
    ]
    # a block starts at its name header, or at the code column printed just left of it
    ordered = sorted(header_row, key=lambda c: c.box[0])
    starts = []
    for head in heads:
        k = next((k for k, c in enumerate(ordered) if c is head), 0)
        left = ordered[k - 1] if k else head
        start = left if left.norm.strip().startswith(CODE_HEADERS) else head
        starts.append(start.box[0] - line_h)
    return _Table(
        heads,
        header_row,
        line_h,
        y_top,
        min(stops) if stops else float("inf"),
        starts,
        max(ln.box[2] for ln in lines) + 1,
    )


def _block_cells(
    lines: Sequence[TextLine], table: _Table, bi: int
) -> tuple[list[TextLine], list[tuple[int, TextLine]]]:
    """The header cells of block ``bi`` and its body cut into (column index, cell)."""
    x_lo = table.starts[bi]
    x_hi = table.starts[bi + 1] if bi + 1 < len(table.heads) else table.page_right
    cols = sorted((c for c in table.header_row if x_lo <= c.cx < x_hi), key=lambda c: c.box[0])
    bounds = [c.box[0] - 0.6 * table.line_h for c in cols[1:]]
    body = [
        ln
        for ln in lines
        if table.y_top - 2 < ln.box[1] and ln.box[3] < table.y_end + 2 and x_lo <= ln.cx < x_hi
    ]
    cells: list[tuple[int, TextLine]] = []
    for ln in body:
        for piece in _split_by_columns(ln, bounds):
            cells.append((sum(1 for b in bounds if piece.cx >= b), piece))
    return cols, cells


def _block_items(lines: Sequence[TextLine], table: _Table, bi: int) -> list[Item]:
    """Items of one block: each name in the name column with the amount on its row."""
    cols, cells = _block_cells(lines, table, bi)
    amount_idx = next(
        (k for k, c in enumerate(cols) if c.norm.strip().startswith(AMOUNT_HEADERS)), None
    )
    if amount_idx is None:
        return []
    code_idx = next(
        (k for k, c in enumerate(cols) if c.norm.strip().startswith(CODE_HEADERS)), None
    )
    name_idx = next((k for k, c in enumerate(cols) if c is table.heads[bi]), 0)
    names = [p for c, p in cells if c == name_idx and _ITEM_NAME_RE.search(p.norm)]
    amounts = [p for c, p in cells if c == amount_idx and parse_amount(p.norm)]
    codes = [p for c, p in cells if c == code_idx and _ITEM_CODE_RE.search(_code_text(p))]
    items: list[Item] = []
    for name_cell in sorted(names, key=lambda p: p.cy):
        row = [a for a in amounts if v_overlap(a, name_cell) > 0.4]
        if not row:
            continue
        amt_cell = min(row, key=lambda a: abs(a.cy - name_cell.cy))
        parsed = parse_amount(amt_cell.norm)
        m = _ITEM_NAME_RE.search(name_cell.norm)
        if not parsed or not m:
            continue
        nbox, nconf = name_cell.span(m.start(), m.end())
        abox, aconf = amt_cell.span(parsed[1], parsed[2])
        conf = round(min(nconf, aconf), 4)
        code = _row_code(codes, name_cell)
        items.append(Item(m.group(), parsed[0], conf, _union([nbox, abox]), code))
    return items


def extract_items(lines: Sequence[TextLine]) -> tuple[list[Item], float, Box | None]:
    """The items of the table, their lowest confidence and the box around them."""
    table = _find_table(lines)
    if table is None:
        return [], 0.0, None
    items = [item for bi in range(len(table.heads)) for item in _block_items(lines, table, bi)]
    if not items:
        return [], 0.0, None
    boxes = [i.box for i in items if i.box]
    return items, min(i.confidence for i in items), _union(boxes)
