"""Field extraction from OCR text lines with boxes (not from flattened text).

Labelled fields are found next to their labels (:mod:`ocr.field_labels`) and parsed by kind
(:mod:`ocr.field_values`); fields printed without their usual label have fallbacks
(:mod:`ocr.field_fallbacks`); items come from the table (:mod:`ocr.items`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ocr.engines import TextLine
from ocr.field_fallbacks import (
    hospital_fallback,
    invoice_number_fallback,
    org_continuation,
    total_fallback,
    upper_from_glyph_errors,
    visit_type,
)
from ocr.field_labels import SPECS, Box, Field, extract_field
from ocr.items import Item, extract_items, item_value

__all__ = ["Extraction", "Field", "Item", "extract_fields", "extract_items", "item_value"]


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


def extract_fields(lines: Sequence[TextLine]) -> Extraction:
    """Canonical fields from OCR lines (in reading order) of one upright receipt."""
    ex = Extraction()
    for spec in SPECS:
        got = extract_field(lines, spec)
        if got is not None:
            ex.fields[spec.key] = got
    if "invoice_number" not in ex.fields:
        got = invoice_number_fallback(lines)
        if got:
            ex.fields["invoice_number"] = got
    if "total_amount" not in ex.fields:
        got = total_fallback(lines, ex.fields.get("total_amount_upper"))
        if got:
            ex.fields["total_amount"] = got
    if "total_amount_upper" not in ex.fields and "total_amount" in ex.fields:
        got = upper_from_glyph_errors(lines, ex.fields["total_amount"])
        if got:
            ex.fields["total_amount_upper"] = got
    if "hospital_name" in ex.fields:
        ex.fields["hospital_name"] = org_continuation(lines, ex.fields["hospital_name"])
    else:
        got = hospital_fallback(lines)
        if got:
            ex.fields["hospital_name"] = got
    vt = visit_type(lines)
    if vt:
        ex.fields["visit_type"] = vt
    ex.items, ex.items_confidence, ex.items_box = extract_items(lines)
    return ex
