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

from dataclasses import dataclass, field

import cv2
import numpy as np

from ocr.image_io import ImageError, decode_image
from ocr.orientation import estimate_skew, text_axis_is_vertical, upside_down

__all__ = ["ImageError", "Prepared", "decode_image", "prepare"]

TARGET_LONG_SIDE = 1500


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


# ----------------------------------------------------------------------------- seals


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


def _rectify(
    img: np.ndarray, quad: np.ndarray | None, target_long_side: int
) -> tuple[np.ndarray, np.ndarray]:
    """The page scaled to ``target_long_side`` (perspective corrected when its outline ``quad``
    was found), and the 3×3 map from the original's pixels to it."""
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
        return page, m
    oh, ow = img.shape[:2]
    s = min(target_long_side / max(oh, ow), 1.5)
    if s == 1:
        return img, np.eye(3)
    size = (round(float(ow * s)), round(float(oh * s)))
    inter = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, size, interpolation=inter), np.diag([s, s, 1.0])


def prepare(img: np.ndarray, target_long_side: int = TARGET_LONG_SIDE) -> Prepared:
    """Rectify, scale, orient, deskew and de-seal a decoded BGR image."""
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    oh, ow = img.shape[:2]
    notes: list[str] = []
    quad = find_page(img)
    page, m = _rectify(img, quad, target_long_side)
    if quad is not None:
        notes.append("page outline found; perspective corrected")

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
