"""The text layer and the images of page 1 of a PDF, with PDFium (``pypdfium2``).

Characters come with their loose boxes (font ascent/descent and advance width, so they do not
depend on which font renders the page); they are joined into runs where they sit on one
baseline without a gap wider than about half the font size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported when a PDF is read: plain-image OCR never loads it
    import pypdfium2 as pdfium

MAX_SIDE_PT = 14400


class PdfError(ValueError):
    """Not a PDF we can read (broken, encrypted, no page)."""


@dataclass(frozen=True)
class PdfChar:
    text: str
    x0: float  # points, origin top left
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class PdfPage:
    width_pt: float
    height_pt: float
    runs: list[list[PdfChar]]
    images: list[np.ndarray]
    pages: int


def _chars(textpage: object, height: float) -> list[PdfChar | None]:
    """Characters in content order; ``None`` where the text breaks (spaces, line ends)."""
    import pypdfium2.raw as raw

    out: list[PdfChar | None] = []
    n = raw.FPDFText_CountChars(textpage)
    rect = raw.FS_RECTF()
    for i in range(n):
        code = raw.FPDFText_GetUnicode(textpage, i)
        ch = chr(code) if 0 < code < 0x110000 else ""
        if not ch.strip() or raw.FPDFText_IsGenerated(textpage, i) == 1:
            out.append(None)
            continue
        if not raw.FPDFText_GetLooseCharBox(textpage, i, rect):
            out.append(None)
            continue
        out.append(PdfChar(ch, rect.left, height - rect.top, rect.right, height - rect.bottom))
    return out


def _runs(chars: list[PdfChar | None]) -> list[list[PdfChar]]:
    runs: list[list[PdfChar]] = []
    cur: list[PdfChar] = []
    for c in chars:
        if c is None:
            if cur:
                runs.append(cur)
            cur = []
            continue
        if cur:
            p = cur[-1]
            h = max(p.y1 - p.y0, c.y1 - c.y0, 1e-3)
            same_line = abs((p.y0 + p.y1) / 2 - (c.y0 + c.y1) / 2) < 0.4 * h
            if not same_line or c.x0 - p.x1 > 0.5 * h or c.x0 < p.x0:
                runs.append(cur)
                cur = []
        cur.append(c)
    if cur:
        runs.append(cur)
    return runs


def _open(data: bytes) -> pdfium.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfError("PDF 文件已损坏、加密或无法读取") from exc


def read_first_page(data: bytes) -> PdfPage:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = _open(data)
    try:
        pages = len(pdf)
        if pages == 0:
            raise PdfError("PDF 文件没有页面")
        page = pdf[0]
        width, height = page.get_size()
        if not (1 <= width <= MAX_SIDE_PT and 1 <= height <= MAX_SIDE_PT):
            raise PdfError("PDF 页面尺寸无效")
        textpage = page.get_textpage()
        runs = _runs(_chars(textpage.raw, height))
        images: list[np.ndarray] = []
        for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
            try:
                bitmap = obj.get_bitmap(render=False)
            except pdfium.PdfiumError:
                continue
            arr = bitmap.to_numpy()
            if arr.ndim == 3 and arr.shape[2] == 4:
                arr = arr[:, :, :3]
            images.append(np.ascontiguousarray(arr))
        return PdfPage(width, height, runs, images, pages)
    finally:
        pdf.close()


def render_first_page(data: bytes, scale: float = 3.0) -> np.ndarray:
    """Page 1 as a BGR image (for a QR code drawn with vector paths rather than an image)."""
    pdf = _open(data)
    try:
        page = pdf[0]
        scale = min(scale, 4000 / max(page.get_size()))
        return np.ascontiguousarray(page.render(scale=scale).to_numpy()[:, :, :3])
    finally:
        pdf.close()
