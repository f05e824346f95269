"""``read_invoice``: image bytes in, canonical invoice fields with confidences and boxes out.

Boxes are four corners ``[[x, y], ...]`` (TL, TR, BR, BL) in the pixels of the uploaded image
after its EXIF orientation, so a reviewer UI can draw them on the image it shows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ocr.checks import run_checks
from ocr.engines import ENGINES, get_engine
from ocr.fields import Extraction, Field, extract_fields, item_value
from ocr.preprocess import ImageError, decode_image, prepare
from ocr.qr import QR_KEYS, cross_check, decode_qr

FIELD_KEYS = (
    "invoice_code",
    "invoice_number",
    "check_code",
    "issue_date",
    "payer_name",
    "hospital_name",
    "insurance_type",
    "visit_type",
    "total_amount",
    "total_amount_upper",
    "fund_paid",
    "other_paid",
    "personal_account_paid",
    "personal_cash_paid",
    "self_pay",
    "self_expense",
    "items",
)


@dataclass
class FieldReading:
    value: Any
    confidence: float
    box: list[list[int]] | None
    source: str = "ocr"

    def to_json(self) -> dict[str, Any]:
        out = {"value": self.value, "confidence": round(self.confidence, 4), "box": self.box}
        if self.source != "ocr":
            out["source"] = self.source
        return out


@dataclass
class InvoiceReading:
    fields: dict[str, FieldReading]
    checks: dict[str, Any]
    engine: str
    meta: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def value(self, key: str) -> Any:
        f = self.fields.get(key)
        return None if f is None else f.value

    def values(self) -> dict[str, Any]:
        return {k: f.value for k, f in self.fields.items()}

    def to_dict(self, *, with_lines: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fields": {k: self.fields[k].to_json() for k in FIELD_KEYS},
            "checks": self.checks,
            "engine": self.engine,
            "meta": self.meta,
        }
        if with_lines:
            out["lines"] = self.lines
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(**kwargs), ensure_ascii=False)


# The quick QR search runs beside the OCR engine: OpenCV releases the GIL, and the engine leaves
# gaps on the cores (its Python steps, detection's pre- and post-processing).
_qr_search = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr-qr")

BoxMap = Callable[[tuple[float, float, float, float]], list[list[int]]]


def _to_reading(f: Field | None, to_box: BoxMap) -> FieldReading:
    if f is None or f.value is None:
        return FieldReading(None, 0.0, None)
    box = to_box(f.box) if f.box is not None else None
    return FieldReading(f.value, f.confidence, box, f.source)


def readings_from(ex: Extraction, to_box: BoxMap) -> dict[str, FieldReading]:
    """Canonical readings of one extraction; boxes mapped by ``to_box`` (e.g. to the upload)."""
    readings = {
        key: _to_reading(ex.fields.get(key), to_box) for key in FIELD_KEYS if key != "items"
    }
    readings["items"] = FieldReading(
        [
            {
                **item_value(i),
                "confidence": i.confidence,
                "box": to_box(i.box) if i.box else None,
            }
            for i in ex.items
        ],
        ex.items_confidence,
        to_box(ex.items_box) if ex.items_box else None,
    )
    return readings


def finish_reading(
    readings: dict[str, FieldReading],
    qr_check: dict[str, Any],
    *,
    engine: str,
    meta: dict[str, Any],
    lines: list[dict[str, Any]] | None = None,
) -> InvoiceReading:
    """The checks, the missing and low-confidence lists, and the reading itself."""
    values = {k: r.value for k, r in readings.items()}
    checks = {k: v.to_json() for k, v in run_checks(values).items()}
    checks["qr"] = qr_check
    meta["low_confidence"] = sorted(
        k for k, r in readings.items() if r.value is not None and r.confidence < 0.8
    )
    meta["missing"] = sorted(
        k
        for k, r in readings.items()
        if r.value in (None, []) and k not in ("check_code", "other_paid")
    )
    return InvoiceReading(
        fields=readings, checks=checks, engine=engine, meta=meta, lines=lines or []
    )


def read_invoice(
    image_bytes: bytes, engine: str = "rapidocr", *, use_qr: bool = True, keep_lines: bool = False
) -> InvoiceReading:
    """Read one medical receipt photo or scan. ``engine`` is ``rapidocr`` or ``tesseract``."""
    if engine not in ENGINES:
        raise ValueError(f"unknown OCR engine {engine!r}; choose one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    original = decode_image(image_bytes)
    prep = prepare(original)
    t1 = time.perf_counter()
    quick_qr = _qr_search.submit(decode_qr, prep.bgr) if use_qr else None
    lines = get_engine(engine).recognize(prep.gray)
    t2 = time.perf_counter()
    ex: Extraction = extract_fields(lines)
    readings = readings_from(ex, prep.box_to_original)

    qr_check: dict[str, Any] = {"ok": None, "detail": "未检查二维码", "present": False}
    if quick_qr is not None:
        qr = quick_qr.result()
        if not qr.found and any("电子" in ln.norm for ln in lines[:8]):
            # the receipt says it is electronic: search harder
            qr = decode_qr(prep.bgr, thorough=True, extra=(original,))
        plain = {k: r.value for k, r in readings.items()}
        qr_check = cross_check(qr, plain)
        qr_box = None
        if qr.box:
            pts = [(x, y) for x, y in qr.box]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            qr_box = prep.box_to_original((min(xs), min(ys), max(xs), max(ys)))
        for key in QR_KEYS:
            qv = qr.values.get(key)
            if qv is not None and readings[key].value != qv:
                # the QR code is error-corrected: prefer it; the OCR reading stays in checks.qr
                readings[key] = FieldReading(qv, 0.99, qr_box, "qr")
    t3 = time.perf_counter()

    meta = {
        "page_found": prep.page_found,
        "rotation": prep.rotation,
        "skew": prep.skew,
        "seals_suppressed": prep.seals,
        "seconds": {
            "preprocess": round(t1 - t0, 3),
            "ocr": round(t2 - t1, 3),
            "fields_qr": round(t3 - t2, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
    }
    line_dump = (
        [
            {
                "text": ln.text,
                "confidence": round(ln.confidence, 4),
                "box": prep.box_to_original(ln.box),
            }
            for ln in lines
        ]
        if keep_lines
        else []
    )
    return finish_reading(readings, qr_check, engine=engine, meta=meta, lines=line_dump)


def warm_up(engine: str = "rapidocr") -> None:
    """Load the engine's models and run them once (detection and recognition), so that the
    first invoice a long-running process reads is not slowed by the start-up."""
    import cv2
    import numpy as np

    img = np.full((96, 480), 255, np.uint8)
    cv2.putText(img, "2025 1234.56", (12, 64), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
    get_engine(engine).recognize(img)


def read_any(data: bytes, engine: str = "rapidocr") -> InvoiceReading:
    """A photo or scan (OCR), or a PDF/OFD e-invoice (read exactly; a PDF without a text layer
    is rendered and OCR'd). Raises :class:`~ocr.preprocess.ImageError` when unreadable."""
    from ocr.einvoice import PDF, EInvoiceError, kind_of, read_einvoice
    from ocr.pdf_text import PdfError, render_first_page

    kind = kind_of(data)
    if kind is None:
        return read_invoice(data, engine=engine)
    try:
        return read_einvoice(data)
    except EInvoiceError as exc:
        if kind != PDF:
            raise ImageError(str(exc)) from exc
    try:
        page = render_first_page(data, scale=200 / 72)
    except PdfError as exc:
        raise ImageError(str(exc)) from exc
    import cv2

    ok, png = cv2.imencode(".png", page)
    if not ok:
        raise ImageError("PDF 页面无法渲染")
    return read_invoice(png.tobytes(), engine=engine)
