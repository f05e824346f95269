"""Classing an invoice's items against the insurance catalogue (医保目录), in integer fen.

Each item is classed, in order of precedence, by
1. the reviewer (审核人员归类), when they set its class in the review step;
2. the catalogue, by national code, else by normalised name;
3. otherwise it is "not in the catalogue": the invoice's own printed split (医保统筹 /
   个人自付 / 个人自费) decides for all such items together — the printed 个人自费 less what
   the catalogue already put outside the policy range is outside, the rest inside;
4. with no printed split it waits for the reviewer (``unresolved``): approval is held.

甲类 is eligible in full; 乙类 after its 先行自付 share (the item's or the version's ratio); 丙类
and 自费 are not eligible. Items summing to less than the invoice total leave a remainder that
is treated like an item not in the catalogue; an invoice without items is all remainder
(the whole invoice decided by its split, as before items were read).

Pure functions over :class:`config.policy.Catalogue`; no database, no float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backend.claims.money import percent, share, yuan
from config.policy import ITEM_CLASSES, Catalogue, ItemClass

CLASS_LABELS: dict[ItemClass, str] = {"jia": "甲类", "yi": "乙类", "bing": "丙类", "zifei": "自费"}
SOURCE_LABELS = {
    "reviewer": "审核人员归类",
    "code": "按目录编码匹配",
    "name": "按目录名称匹配",
    "split": "目录未收录，按票据划分",
    "unresolved": "目录未收录，待审核人员归类",
}
REMAINDER_NAME = "票据未列明的费用"


@dataclass(frozen=True)
class InvoiceItem:
    """One item line as confirmed: name, amount, the national code when printed, and the
    class the reviewer set (None: let the catalogue or the split decide)."""

    name: str
    amount_fen: int
    code: str = ""
    reviewer_class: ItemClass | None = None


@dataclass(frozen=True)
class ClassedItem:
    name: str
    amount_fen: int
    code: str
    item_class: ItemClass | None  # None: not in the catalogue
    source: str  # a key of SOURCE_LABELS
    self_pay_ratio: Decimal | None  # 乙类 only
    self_pay_fen: int  # 乙类先行自付
    eligible_fen: int  # inside the policy range (for split items: decided for the group)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "amount_fen": self.amount_fen,
            "code": self.code or None,
            "item_class": self.item_class,
            "class_label": CLASS_LABELS[self.item_class] if self.item_class else None,
            "source": self.source,
            "source_label": SOURCE_LABELS[self.source],
            "self_pay_ratio": str(self.self_pay_ratio) if self.self_pay_ratio else None,
            "self_pay_fen": self.self_pay_fen,
            "eligible_fen": self.eligible_fen,
        }


@dataclass(frozen=True)
class ClassedInvoice:
    items: tuple[ClassedItem, ...]
    eligible_fen: int  # 政策范围内费用
    unresolved: tuple[str, ...]  # names of items waiting for the reviewer
    lines: tuple[str, ...]


def _catalogued(catalogue: Catalogue, item: InvoiceItem) -> ClassedItem | None:
    entry, how = catalogue.find(item.code, item.name)
    cls = item.reviewer_class or (entry.item_class if entry else None)
    if cls is None:
        return None
    source = "reviewer" if item.reviewer_class else how
    ratio = None
    self_pay = 0
    if cls == "yi":
        ratio = catalogue.self_pay_ratio(entry) if entry else catalogue.yi_self_pay_ratio
        self_pay = share(item.amount_fen, ratio)
    eligible = item.amount_fen - self_pay if cls in ("jia", "yi") else 0
    code = item.code or (entry.code if entry else "")
    return ClassedItem(item.name, item.amount_fen, code, cls, source, ratio, self_pay, eligible)


def _names(items: list[ClassedItem]) -> str:
    shown = "、".join(f"{i.name}{yuan(i.amount_fen)}" for i in items[:6])
    return shown + (f"等{len(items)}项" if len(items) > 6 else "")


def classify(
    catalogue: Catalogue,
    items: list[InvoiceItem],
    *,
    total_fen: int,
    self_expense_fen: int,
    split_printed: bool,
) -> ClassedInvoice:
    """Class every item; the eligible amount and the per-class explanation."""
    if any(i.amount_fen < 0 for i in items) or total_fen < 0 or self_expense_fen < 0:
        raise ValueError("amounts must not be negative")
    listed = sum(i.amount_fen for i in items)
    if listed > total_fen:
        raise ValueError("items add up to more than the invoice total")
    rows = list(items)
    if listed < total_fen:
        rows.append(InvoiceItem(REMAINDER_NAME, total_fen - listed))
    classed = [_catalogued(catalogue, i) for i in rows]
    known = [c for c in classed if c is not None]
    unknown_items = [i for i, c in zip(rows, classed, strict=True) if c is None]
    outside_known = sum(c.amount_fen for c in known if c.item_class in ("bing", "zifei"))
    unknown_total = sum(i.amount_fen for i in unknown_items)
    lines = [
        _class_line(cls, group)
        for cls in ITEM_CLASSES
        if (group := [c for c in known if c.item_class == cls])
    ]
    out = list(known)
    waiting = [_plain(i, "split" if split_printed else "unresolved") for i in unknown_items]
    unresolved: tuple[str, ...] = ()
    split_eligible = 0
    if unknown_items and split_printed:
        outside = min(unknown_total, max(0, self_expense_fen - outside_known))
        split_eligible = unknown_total - outside
        lines.append(
            f"目录未收录的项目 {_names(waiting)}，"
            f"合计{yuan(unknown_total)}：按票据的个人自费划分，其中{yuan(outside)}为自费，"
            f"{yuan(split_eligible)}纳入政策范围内费用"
        )
        out.extend(waiting)
    elif unknown_items:
        unresolved = tuple(i.name for i in unknown_items)
        lines.append(
            f"目录未收录且票据未打印费用划分的项目 {_names(waiting)}："
            "待审核人员归类，归类前不予计算"
        )
        out.extend(waiting)
    eligible = sum(c.eligible_fen for c in known) + split_eligible
    lines.append(f"政策范围内费用：{yuan(eligible)}")
    return ClassedInvoice(tuple(out), eligible, unresolved, tuple(lines))


def _class_line(cls: ItemClass, group: list[ClassedItem]) -> str:
    """How the catalogued items of one class count: in full, after the 先行自付 share, or not."""
    amount = sum(c.amount_fen for c in group)
    sources = "、".join(sorted({SOURCE_LABELS[c.source] for c in group}))
    head = f"{CLASS_LABELS[cls]}项目 {_names(group)}，合计{yuan(amount)}（{sources}）："
    if cls == "jia":
        return head + "全额纳入政策范围内费用"
    if cls == "yi":
        self_pay = sum(c.self_pay_fen for c in group)
        ratios = "、".join(sorted({percent(c.self_pay_ratio) for c in group if c.self_pay_ratio}))
        return (
            head + f"先行自付{ratios}共{yuan(self_pay)}，其余{yuan(amount - self_pay)}"
            "纳入政策范围内费用"
        )
    return head + f"{CLASS_LABELS[cls]}项目不纳入基本医保支付范围，由个人负担"


def _plain(item: InvoiceItem, source: str) -> ClassedItem:
    return ClassedItem(item.name, item.amount_fen, item.code, None, source, None, 0, 0)
