"""OCR engines behind one interface: an image in, text lines with boxes and confidences out.

- ``rapidocr`` (default): RapidOCR 3.x on onnxruntime with the PP-OCR models bundled in the
  wheel; nothing is downloaded at runtime.
- ``tesseract``: pytesseract with ``chi_sim``, ``--psm 6`` and ``OMP_THREAD_LIMIT=1``.

Lines are split where the engine glued two table cells together (a gap between characters
wider than about one character height), so "西药费 1 56.80" stays three cells.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class Char:
    text: str
    confidence: float
    x0: float
    x1: float


@dataclass
class TextLine:
    """One run of text. ``box`` is axis-aligned ``(x0, y0, x1, y1)`` in the OCR'd image."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]
    chars: list[Char] = field(default_factory=list)

    @property
    def norm(self) -> str:
        """Text with full-width forms folded (NFKC per character, length preserved)."""
        return normalize_text(self.text)

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    def span(self, start: int, end: int) -> tuple[tuple[float, float, float, float], float]:
        """Box and mean confidence of characters ``start:end`` of the text."""
        if self.chars and len(self.chars) == len(self.text) and end > start:
            cs = self.chars[start:end]
            conf = float(np.mean([c.confidence for c in cs]))
            return (cs[0].x0, self.box[1], cs[-1].x1, self.box[3]), conf
        n = max(len(self.text), 1)
        w = self.box[2] - self.box[0]
        x0 = self.box[0] + w * start / n
        x1 = self.box[0] + w * end / n
        return (x0, self.box[1], x1, self.box[3]), self.confidence


def normalize_text(text: str) -> str:
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c)
        out.append(n[:1] if n else c)
    return "".join(out)


class OcrEngine(Protocol):
    name: str

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        """OCR a BGR or grayscale image; lines in reading order (top to bottom, left to right)."""
        ...


def split_on_gaps(line: TextLine, gap_factor: float = 1.0) -> list[TextLine]:
    """Split a line at character gaps wider than ``gap_factor`` × line height."""
    if not line.chars or len(line.chars) != len(line.text) or len(line.chars) < 2:
        return [line]
    limit = gap_factor * max(line.height, 1.0)
    pieces: list[list[Char]] = [[line.chars[0]]]
    for prev, cur in zip(line.chars, line.chars[1:], strict=False):
        if cur.x0 - prev.x1 > limit:
            pieces.append([cur])
        else:
            pieces[-1].append(cur)
    if len(pieces) == 1:
        return [line]
    out = []
    for p in pieces:
        text = "".join(c.text for c in p)
        if not text.strip():
            continue
        out.append(
            TextLine(
                text=text,
                confidence=float(np.mean([c.confidence for c in p])),
                box=(p[0].x0, line.box[1], p[-1].x1, line.box[3]),
                chars=p,
            )
        )
    return out


def reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Sort top to bottom, then left to right within rows that overlap vertically."""
    rest = sorted(lines, key=lambda line: line.cy)
    rows: list[list[TextLine]] = []
    for line in rest:
        if rows and abs(line.cy - np.mean([r.cy for r in rows[-1]])) < 0.5 * max(line.height, 1):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0])]


# onnxruntime threads for RapidOCR: the cores of this host, at most two (what the figures in
# the README were measured with); YIBAO_OCR_THREADS overrides, e.g. 1 to count CPU time alone.
# Detection uses them as intra-op threads, recognition as parallel calls (see ocr/rapid.py).
ONNX_THREADS = int(os.environ.get("YIBAO_OCR_THREADS") or max(1, min(2, os.cpu_count() or 1)))


class RapidOcrEngine:
    """RapidOCR (``rapidocr`` 3.x, onnxruntime, models from the installed wheel)."""

    name = "rapidocr"
    _lock = threading.Lock()
    _shared: object | None = None

    def __init__(self) -> None:
        self._ocr = self._get()

    @classmethod
    def _get(cls) -> object:
        with cls._lock:
            if cls._shared is None:
                from ocr.rapid import ReceiptOCR

                cls._shared = ReceiptOCR(
                    ONNX_THREADS,
                    {
                        "Global.log_level": "error",
                        # our preprocessing already turned the page upright
                        "Global.use_cls": False,
                        # Detect on the page scaled to at most 960 px: receipt text stays
                        # above 12 px there, and detection costs half of 1280 px.
                        # Recognition still reads crops of the full-resolution page.
                        "Det.limit_type": "max",
                        "Det.limit_side_len": 960,
                        # A crop narrower than it is high ("1") is padded to one square
                        # (48 px), not to RapidOCR's default of 320 px.
                        "Rec.rec_img_shape": [3, 48, 48],
                    },
                )
            return cls._shared

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        result = self._ocr(image, return_word_box=True)  # type: ignore[operator]
        if result.txts is None or result.boxes is None:
            return []
        words = result.word_results if len(result.word_results) == len(result.txts) else None
        lines: list[TextLine] = []
        for i, (text, score, quad) in enumerate(
            zip(result.txts, result.scores, result.boxes, strict=False)
        ):
            q = np.asarray(quad, dtype=float)
            box = (
                float(q[:, 0].min()),
                float(q[:, 1].min()),
                float(q[:, 0].max()),
                float(q[:, 1].max()),
            )
            chars: list[Char] = []
            if words is not None:
                ws = words[i]
                if ws and all(w[2] is not None for w in ws):
                    chars = [
                        Char(
                            w[0],
                            float(w[1]),
                            float(min(p[0] for p in w[2])),
                            float(max(p[0] for p in w[2])),
                        )
                        for w in ws
                    ]
            line = TextLine(text=str(text), confidence=float(score), box=box, chars=chars)
            if chars and "".join(c.text for c in chars) != line.text:
                # word boxes drop spaces; keep them aligned with the text without spaces
                line = TextLine(
                    text="".join(c.text for c in chars),
                    confidence=line.confidence,
                    box=box,
                    chars=chars,
                )
            lines.extend(split_on_gaps(line))
        return reading_order(lines)


class TesseractEngine:
    """Tesseract through pytesseract, Simplified Chinese, one uniform block (``--psm 6``)."""

    name = "tesseract"

    def __init__(self, psm: int | None = 6, lang: str = "chi_sim") -> None:
        # Tesseract's OpenMP threads fight each other on small machines; one thread is ~4× faster.
        os.environ["OMP_THREAD_LIMIT"] = "1"
        self.psm = psm
        self.lang = lang

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        import pytesseract

        config = f"--psm {self.psm}" if self.psm is not None else ""
        if image.ndim == 3:
            image = image[:, :, ::-1]  # BGR → RGB for PIL inside pytesseract
        data = pytesseract.image_to_data(
            image, lang=self.lang, config=config, output_type=pytesseract.Output.DICT
        )
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, text in enumerate(data["text"]):
            if not str(text).strip():
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            groups.setdefault(key, []).append(i)
        lines: list[TextLine] = []
        for idxs in groups.values():
            idxs.sort(key=lambda i: data["left"][i])
            chars: list[Char] = []
            top = min(data["top"][i] for i in idxs)
            bottom = max(data["top"][i] + data["height"][i] for i in idxs)
            for i in idxs:
                word = str(data["text"][i]).strip()
                conf = max(float(data["conf"][i]), 0.0) / 100.0
                x0 = float(data["left"][i])
                w = float(data["width"][i]) / max(len(word), 1)
                for k, c in enumerate(word):
                    chars.append(Char(c, conf, x0 + k * w, x0 + (k + 1) * w))
            text = "".join(c.text for c in chars)
            line = TextLine(
                text=text,
                confidence=float(np.mean([c.confidence for c in chars])),
                box=(chars[0].x0, float(top), chars[-1].x1, float(bottom)),
                chars=chars,
            )
            lines.extend(split_on_gaps(line, gap_factor=1.2))
        return reading_order(lines)


ENGINES = ("rapidocr", "tesseract")


def get_engine(name: str = "rapidocr") -> OcrEngine:
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "tesseract":
        return TesseractEngine()
    raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
