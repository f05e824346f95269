"""Page orientation and skew from the layout of text lines (OpenCV morphology on an ink mask),
and up/down from RapidOCR's bundled text-direction classifier on a few line crops (not
Tesseract OSD, which mislabels Chinese pages). The analysis runs on the page scaled to at most
1000 px; thresholding here only drives the analysis and is never fed to OCR."""

from __future__ import annotations

import math
import threading
from importlib import resources

import cv2
import numpy as np


def _text_mask(gray: np.ndarray) -> np.ndarray:
    """Dark-on-light ink mask for layout analysis only (never fed to OCR)."""
    mask = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15
    )
    return mask


def _analysis_view(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
    """The page scaled to at most 1000 px, its ink mask, the expected character size there,
    and the scale from the page to it."""
    h, w = gray.shape[:2]
    k = min(1000 / max(h, w), 1.0)
    small = (
        cv2.resize(gray, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else gray
    )
    return small, _text_mask(small), max(6, int(min(small.shape[:2]) / 60)), k


def _line_components(
    mask: np.ndarray, horizontal: bool, char: int
) -> list[tuple[int, int, int, int, int]]:
    kernel = np.ones((1, char * 2), np.uint8) if horizontal else np.ones((char * 2, 1), np.uint8)
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, a = (int(v) for v in stats[i])
        long_, short = (w, h) if horizontal else (h, w)
        if short >= char * 0.5 and short <= char * 3 and long_ >= 3 * short and a >= 0.3 * w * h:
            out.append((x, y, w, h, a))
    return out


def text_axis_is_vertical(gray: np.ndarray) -> bool:
    """True when text lines run vertically (page turned by 90° or 270°)."""
    _, mask, char, _ = _analysis_view(gray)
    score_h = sum(c[4] for c in _line_components(mask, True, char))
    score_v = sum(c[4] for c in _line_components(mask, False, char))
    return score_v > 1.3 * score_h


def estimate_skew(gray: np.ndarray) -> float:
    """Median angle (degrees, counter-clockwise positive) of horizontal text lines."""
    _, mask, char, _ = _analysis_view(gray)
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, char * 2), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    angles, weights = [], []
    for c in contours:
        _, _, cw, ch = cv2.boundingRect(c)
        if cw < 6 * char or ch > 4 * char:
            continue
        vx, vy, _, _ = cv2.fitLine(c, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        a = math.degrees(math.atan2(vy, vx))
        if a > 90:
            a -= 180
        if a < -90:
            a += 180
        if abs(a) < 20:
            angles.append(-a)
            weights.append(cw)
    if len(angles) < 3:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.array(weights)[order])
    return float(np.array(angles)[order][np.searchsorted(cum, cum[-1] / 2)])


class _DirectionClassifier:
    """RapidOCR's bundled 0°/180° text-line classifier (PP-OCR mobile cls), via onnxruntime."""

    _lock = threading.Lock()
    _session: object | None = None

    @classmethod
    def session(cls) -> object | None:
        with cls._lock:
            if cls._session is None:
                try:
                    import onnxruntime as ort

                    models = resources.files("rapidocr") / "models"
                    path = next(
                        p for p in models.iterdir() if "cls" in p.name and p.name.endswith(".onnx")
                    )
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = 1
                    opts.log_severity_level = 3
                    cls._session = ort.InferenceSession(
                        str(path), opts, providers=["CPUExecutionProvider"]
                    )
                except Exception:
                    cls._session = False
            return cls._session or None

    @classmethod
    def upside_down_probability(cls, crops: list[np.ndarray]) -> float | None:
        sess = cls.session()
        if sess is None or not crops:
            return None
        batch = []
        for crop in crops:
            h, w = crop.shape[:2]
            rw = min(192, max(8, math.ceil(48 * w / h)))
            img = cv2.resize(crop, (rw, 48))
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            x = (img.astype(np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
            pad = np.zeros((3, 48, 192), np.float32)
            pad[:, :, :rw] = x
            batch.append(pad)
        inp = sess.get_inputs()[0].name  # type: ignore[attr-defined]
        prob = sess.run(None, {inp: np.stack(batch)})[0]  # type: ignore[attr-defined]
        return float(np.mean(prob[:, 1]))


def upside_down(gray: np.ndarray) -> bool | None:
    """Whether horizontal text is upside down, voting over up to 16 line crops."""
    small, mask, char, k = _analysis_view(gray)
    comps = _line_components(mask, True, char)
    comps.sort(key=lambda c: -c[4])
    crops = []
    for x, y, cw, ch, _ in comps[:16]:
        x0, y0 = int(x / k), int(max(y - 0.2 * ch, 0) / k)
        x1, y1 = int((x + min(cw, 4 * ch)) / k), int(min(y + 1.2 * ch, small.shape[0]) / k)
        crop = gray[y0:y1, x0:x1]
        if crop.size and crop.shape[0] > 4 and crop.shape[1] > 4:
            crops.append(crop)
    p = _DirectionClassifier.upside_down_probability(crops)
    return None if p is None else p > 0.5
