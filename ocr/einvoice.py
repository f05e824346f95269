"""Electronic invoices (医疗收费电子票据) read exactly: the PDF's text layer or the OFD's text,
never OCR, into the same canonical fields as a photo, plus the QR code cross-check.

The text goes through the same label-anchored extraction as OCR lines (``ocr.fields``), with
confidence 1.0 and ``source: "text"``. Unlike a photo, a value the QR code disagrees with is
NOT replaced: the printed text and the QR code of a genuine e-invoice are produced together,
so a difference means an edited file, and ``checks.qr.ok`` is ``False`` (the claims service
turns that into a blocking flag).

Boxes are in pixels of the page rendered at 200 dpi (``meta.page_px`` gives its size).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import cv2
import numpy as np

from ocr.engines import Char, TextLine, reading_order
from ocr.fields import extract_fields
from ocr.ofd import OfdError, is_zip
from ocr.ofd import read_first_page as read_ofd
from ocr.pdf_text import PdfError, render_first_page
from ocr.pdf_text import read_first_page as read_pdf
from ocr.pipeline import InvoiceReading, finish_reading, readings_from
from ocr.preprocess import ImageError, decode_image
from ocr.qr import QrResult, cross_check, decode_qr

DPI = 200
PX_PER_PT = DPI / 72
PX_PER_MM = DPI / 25.4

PDF, OFD = "pdf", "ofd"


class EInvoiceError(ValueError):
    """The file is not an e-invoice we can read."""


def kind_of(data: bytes) -> str | None:
    """``"pdf"``, ``"ofd"`` (a ZIP: :func:`ocr.ofd.check_container` decides) or ``None``."""
    if data.startswith(b"%PDF-"):
        return PDF
    if is_zip(data):
        return OFD
    return None


def _line(chars: list[Char], y0: float, y1: float) -> TextLine:
    text = "".join(c.text for c in chars)
    return TextLine(text=text, confidence=1.0, box=(chars[0].x0, y0, chars[-1].x1, y1), chars=chars)


def _pdf_lines(data: bytes) -> tuple[list[TextLine], tuple[int, int], list[np.ndarray], int]:
    page = read_pdf(data)
    lines = []
    for run in page.runs:
        chars = [Char(c.text, 1.0, c.x0 * PX_PER_PT, c.x1 * PX_PER_PT) for c in run]
        y0 = min(c.y0 for c in run) * PX_PER_PT
        y1 = max(c.y1 for c in run) * PX_PER_PT
        lines.append(_line(chars, y0, y1))
    size = (round(page.width_pt * PX_PER_PT), round(page.height_pt * PX_PER_PT))
    return lines, size, page.images, page.pages


def _ofd_lines(data: bytes) -> tuple[list[TextLine], tuple[int, int], list[np.ndarray], int]:
    page = read_ofd(data)
    lines = []
    for run in page.runs:
        text = run.text.strip()
        if not text:
            continue
        lead = len(run.text) - len(run.text.lstrip())
        step = run.width / max(len(run.text), 1)
        x = run.x + lead * step
        chars = [
            Char(c, 1.0, (x + k * step) * PX_PER_MM, (x + (k + 1) * step) * PX_PER_MM)
            for k, c in enumerate(text)
        ]
        top, bottom = run.baseline - 0.88 * run.size, run.baseline + 0.12 * run.size
        lines.append(_line(chars, top * PX_PER_MM, bottom * PX_PER_MM))
    images = []
    for raw_image in page.images:
        try:
            images.append(decode_image(raw_image, max_pixels=16_000_000))
        except ImageError:
            continue
    size = (round(page.width_mm * PX_PER_MM), round(page.height_mm * PX_PER_MM))
    return lines, size, images, page.pages


def _find_qr(images: list[np.ndarray], render: Any) -> QrResult:
    for img in images:
        if min(img.shape[:2]) < 21:
            continue
        padded = cv2.copyMakeBorder(img, 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=(255,) * 3)
        qr = decode_qr(padded, thorough=True)
        if qr.found:
            return qr
    if render is not None:
        return decode_qr(render(), thorough=True)
    return QrResult(False)


def read_einvoice(data: bytes) -> InvoiceReading:
    """Read a PDF or OFD e-invoice from its text. Raises :class:`EInvoiceError`."""
    t0 = time.perf_counter()
    kind = kind_of(data)
    try:
        if kind == PDF:
            lines, size, images, pages = _pdf_lines(data)
            render = functools.partial(render_first_page, data)  # when no image holds a QR
        elif kind == OFD:
            lines, size, images, pages = _ofd_lines(data)
            render = None
        else:
            raise EInvoiceError("不是 PDF 或 OFD 电子票据")
    except (PdfError, OfdError) as exc:
        raise EInvoiceError(str(exc)) from exc
    if not lines:
        raise EInvoiceError("电子票据没有文字层（可能是扫描件）")
    lines = reading_order(lines)
    ex = extract_fields(lines)
    for f in ex.fields.values():
        f.source = "text"
    w, h = size

    def to_box(box: tuple[float, float, float, float]) -> list[list[int]]:
        x0, y0, x1, y1 = (round(v) for v in box)
        x0, x1 = max(0, min(x0, w - 1)), max(0, min(x1, w - 1))
        y0, y1 = max(0, min(y0, h - 1)), max(0, min(y1, h - 1))
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    readings = readings_from(ex, to_box)
    qr = _find_qr(images, render)
    qr_check = cross_check(qr, {k: r.value for k, r in readings.items()})
    meta = {
        "format": kind,
        "pages": pages,
        "page_px": [w, h],
        "dpi": DPI,
        "seconds": {"total": round(time.perf_counter() - t0, 3)},
    }
    return finish_reading(readings, qr_check, engine=f"{kind}-text", meta=meta)
