"""Image preparation for invoice OCR (OpenCV), keeping the map back to the original pixels.

Steps, in order:
1. decode and apply the EXIF orientation (done here explicitly, whatever OpenCV's default);
2. find the paper on a darker background and correct the perspective (phone photos);
   fall back to the whole image when no clear page outline is found (scans);
3. normalise the scale (text of about 20–30 px);
4. coarse orientation 0/90/180/270: text-line direction from morphology, then up/down from
   RapidOCR's bundled text-direction classifier on a few line crops (not Tesseract OSD, which
   mislabels Chinese pages);
5. deskew by the median angle of text lines;
6. red-seal suppression: inside round red blobs, grey = max(B, G, R), which turns red ink
   white and keeps black print black.

No binarisation of the OCR input: engines get greyscale (thresholding only drives analysis).
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field
from importlib import resources

import cv2
import numpy as np

MAX_PIXELS = 60_000_000
TARGET_LONG_SIDE = 1500


class ImageError(ValueError):
    """The bytes are not an image we can read (or one that is too large)."""


@dataclass
class Prepared:
    """The upright, rectified page and the 3×3 map from its pixels back to the original."""

    bgr: np.ndarray
    gray: np.ndarray
    to_original: np.ndarray
    original_size: tuple[int, int]  # (width, height) after EXIF orientation
    page_found: bool = False
    rotation: int = 0  # clockwise degrees applied to make the page upright
    skew: float = 0.0
    seals: int = 0
    notes: list[str] = field(default_factory=list)

    def box_to_original(self, box: tuple[float, float, float, float]) -> list[list[int]]:
        """Four corners (TL, TR, BR, BL) of a processed-image box, in original pixels."""
        x0, y0, x1, y1 = box
        pts = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], dtype=np.float64)
        out = cv2.perspectiveTransform(pts, self.to_original)[0]
        w, h = self.original_size
        return [
            [round(float(min(max(x, 0), w - 1))), round(float(min(max(y, 0), h - 1)))]
            for x, y in out
        ]


# ----------------------------------------------------------------------------- decoding

_EXIF_ROTATIONS = {
    2: ("flip_h", None),
    3: (None, cv2.ROTATE_180),
    4: ("flip_v", None),
    5: ("transpose", None),
    6: (None, cv2.ROTATE_90_CLOCKWISE),
    7: ("transverse", None),
    8: (None, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def exif_orientation(data: bytes) -> int:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def apply_exif_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    flip, rot = _EXIF_ROTATIONS.get(orientation, (None, None))
    if rot is not None:
        return cv2.rotate(img, rot)
    if flip == "flip_h":
        return cv2.flip(img, 1)
    if flip == "flip_v":
        return cv2.flip(img, 0)
    if flip == "transpose":
        return cv2.transpose(img)
    if flip == "transverse":
        return cv2.rotate(cv2.transpose(img), cv2.ROTATE_180)
    return img


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/... bytes to BGR, EXIF orientation applied, pixel count bounded."""
    if not data:
        raise ImageError("empty image")
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Exception as exc:
        raise ImageError(f"not a readable image: {exc}") from exc
    if w * h > max_pixels:
        raise ImageError(f"image too large: {w}×{h} pixels")
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise ImageError("not a readable image")
    return apply_exif_orientation(img, exif_orientation(data))


# ----------------------------------------------------------------------------- geometry


def _order_corners(pts: np.ndarray) -> np.ndarray:
    pts = pts.reshape(4, 2).astype(np.float32)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array(
        [pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
        dtype=np.float32,
    )


def find_page(img: np.ndarray) -> np.ndarray | None:
    """Corners (TL, TR, BR, BL) of a light page on a darker background, or None."""
    h, w = img.shape[:2]
    k = 800 / max(h, w)
    small = (
        cv2.resize(img, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else img
    )
    k = min(k, 1.0)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    sh, sw = gray.shape[:2]
    if area < 0.15 * sh * sw or area > 0.97 * sh * sw:
        return None
    hull = cv2.convexHull(c)
    peri = cv2.arcLength(hull, True)
    quad = None
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quad = approx
            break
    if quad is None:
        quad = cv2.boxPoints(cv2.minAreaRect(hull)).reshape(4, 1, 2)
    inside = np.zeros_like(gray)
    cv2.fillPoly(inside, [quad.reshape(-1, 2).astype(np.int32)], 255)
    mean_in = cv2.mean(gray, inside)[0]
    mean_out = cv2.mean(gray, cv2.bitwise_not(inside))[0]
    if mean_in - mean_out < 25:  # no clear page against a background: a scan
        return None
    return _order_corners(quad / k)


def _rot90_matrix(k: int, w: int, h: int) -> np.ndarray:
    """3×3 matrix of cv2.rotate for k quarter turns clockwise on a w×h image."""
    if k == 1:
        return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64)
    if k == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64)
    if k == 3:
        return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=np.float64)
    return np.eye(3)


def rotate_quarter(img: np.ndarray, k: int) -> np.ndarray:
    k %= 4
    if k == 0:
        return img
    code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[k]
    return cv2.rotate(img, code)


def _text_mask(gray: np.ndarray) -> np.ndarray:
    """Dark-on-light ink mask for layout analysis only (never fed to OCR)."""
    mask = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15
    )
    return mask


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
    h, w = gray.shape[:2]
    k = 1000 / max(h, w)
    small = (
        cv2.resize(gray, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else gray
    )
    mask = _text_mask(small)
    char = max(6, int(min(small.shape[:2]) / 60))
    score_h = sum(c[4] for c in _line_components(mask, True, char))
    score_v = sum(c[4] for c in _line_components(mask, False, char))
    return score_v > 1.3 * score_h


def estimate_skew(gray: np.ndarray) -> float:
    """Median angle (degrees, counter-clockwise positive) of horizontal text lines."""
    h, w = gray.shape[:2]
    k = 1000 / max(h, w)
    small = (
        cv2.resize(gray, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else gray
    )
    mask = _text_mask(small)
    char = max(6, int(min(small.shape[:2]) / 60))
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
    h, w = gray.shape[:2]
    k = 1000 / max(h, w)
    small = (
        cv2.resize(gray, (int(w * k), int(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else gray
    )
    mask = _text_mask(small)
    char = max(6, int(min(small.shape[:2]) / 60))
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


def find_red_seals(bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of round red blobs (seals) large enough to cover text."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = ((hue < 12) | (hue > 165)) & (sat > 60) & (val > 70)
    mask: np.ndarray = red.astype(np.uint8) * 255
    h, w = mask.shape
    size = max(h, w)
    mask = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, _ = (int(v) for v in stats[i])
        if bw < 0.04 * size or bh < 0.025 * size or bw > 0.3 * size or bh > 0.3 * size:
            continue
        if not 0.45 <= bw / bh <= 2.2:
            continue
        boxes.append((x, y, bw, bh))
    return boxes


def suppress_seals(bgr: np.ndarray) -> tuple[np.ndarray, int]:
    """Greyscale image with red seals whitened (grey = max channel inside seal boxes)."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    boxes = find_red_seals(bgr)
    for x, y, bw, bh in boxes:
        pad = 4
        y0, y1 = max(y - pad, 0), min(y + bh + pad, gray.shape[0])
        x0, x1 = max(x - pad, 0), min(x + bw + pad, gray.shape[1])
        gray[y0:y1, x0:x1] = bgr[y0:y1, x0:x1].max(axis=2)
    return gray, len(boxes)


def prepare(img: np.ndarray, target_long_side: int = TARGET_LONG_SIDE) -> Prepared:
    """Rectify, scale, orient, deskew and de-seal a decoded BGR image."""
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    oh, ow = img.shape[:2]
    notes: list[str] = []
    quad = find_page(img)
    if quad is not None:
        tl, tr, br, bl = quad
        pw = max(float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)))
        ph = max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))
        s = min(target_long_side / max(pw, ph), 1.5)
        W, H = round(float(pw * s)), round(float(ph * s))
        dst = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], dtype=np.float32)
        m = cv2.getPerspectiveTransform(quad, dst).astype(np.float64)
        page = cv2.warpPerspective(
            img, m, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
        notes.append("page outline found; perspective corrected")
    else:
        s = min(target_long_side / max(oh, ow), 1.5)
        m = np.diag([s, s, 1.0])
        page = (
            img
            if s == 1
            else cv2.resize(
                img,
                (round(float(ow * s)), round(float(oh * s))),
                interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
            )
        )

    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    quarter = 0
    if text_axis_is_vertical(gray):
        quarter = 1
        h, w = gray.shape[:2]
        m = _rot90_matrix(1, w, h) @ m
        page, gray = rotate_quarter(page, 1), rotate_quarter(gray, 1)

    skew = estimate_skew(gray)
    if abs(skew) > 0.3:
        h, w = gray.shape[:2]
        r = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
        page = cv2.warpAffine(
            page, r, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
        m = np.vstack([r, [0, 0, 1]]) @ m

    flip = upside_down(gray)
    if flip:
        quarter += 2
        h, w = gray.shape[:2]
        m = _rot90_matrix(2, w, h) @ m
        page = rotate_quarter(page, 2)
    if flip is None:
        notes.append("text-direction classifier unavailable; up/down not checked")

    ocr_gray, seals = suppress_seals(page)
    return Prepared(
        bgr=page,
        gray=ocr_gray,
        to_original=np.linalg.inv(m),
        original_size=(ow, oh),
        page_found=quad is not None,
        rotation=(quarter % 4) * 90,
        skew=round(skew, 2),
        seals=seals,
        notes=notes,
    )
