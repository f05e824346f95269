"""Whether two uploaded images are the same photo: re-encoded, rescaled, slightly rotated or
cropped copies are; two different invoices printed from one template are not.

The 64-bit difference hash (``backend.infra.uploads.dhash``) only finds candidates: it is equal
for two receipts of one template (the pixels that differ, the printed values, are a tiny part
of the page) and far apart for a cropped copy. The decision is made here, in three steps:

1. ORB key points of both images (greyscale, at most 1000 px on the long side) are matched
   (ratio test) and a similarity transform (scale, rotation, shift: what a crop or a rescale
   does) is fitted with RANSAC; too few inliers → not the same photo.
2. The larger image is warped onto the smaller one (area resampling) and both are blurred, so
   re-encoding and resampling noise vanish.
3. The overlap is cut into a grid of tiles; in each tile the share of pixels that differ
   clearly is measured. A copy of one photo differs nowhere; two invoices of one template
   differ where the name, number or amounts were printed, which fills part of some tile.

Thresholds were chosen on receipts from ``bench/ocr_synth.py`` (all three layouts): copies
score 0.00-0.01 in their worst tile, template siblings 0.12 and more.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageOps

MAX_SIDE = 1000
MIN_INLIERS = 15
MIN_OVERLAP = 0.6  # share of the smaller image the larger one must cover
GRID = 20
BLUR = 7
PIXEL_DIFF = 50  # grey levels after the blur
MAX_TILE_DIFF = 0.04  # a tile with more differing pixels than this: not the same photo


def grey(data: bytes) -> np.ndarray:
    """The upright greyscale image, at most ``MAX_SIDE`` pixels on its long side."""
    with Image.open(io.BytesIO(data)) as im:
        upright = ImageOps.exif_transpose(im) if im.format == "JPEG" else im
        g = np.asarray(upright.convert("L"))
    scale = MAX_SIDE / max(g.shape)
    if scale < 1:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return g


def _similarity(small: np.ndarray, large: np.ndarray) -> np.ndarray | None:
    """The transform from ``large`` onto ``small``, or None when they do not match."""
    orb = cv2.ORB.create(2000)
    k1, d1 = orb.detectAndCompute(small, None)
    k2, d2 = orb.detectAndCompute(large, None)
    if d1 is None or d2 is None or len(k1) < MIN_INLIERS or len(k2) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d2, d1, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.array([k2[m.queryIdx].pt for m in good], dtype=np.float32)
    dst = np.array([k1[m.trainIdx].pt for m in good], dtype=np.float32)
    transform, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0
    )
    if transform is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    return transform


def worst_tile_difference(a: np.ndarray, b: np.ndarray) -> float | None:
    """The largest share of clearly different pixels in any tile of the aligned overlap;
    None when the images cannot be aligned or overlap too little."""
    small, large = (a, b) if a.size <= b.size else (b, a)
    transform = _similarity(small, large)
    if transform is None:
        return None
    size = (small.shape[1], small.shape[0])
    warped = cv2.warpAffine(large, transform, size, flags=cv2.INTER_AREA)
    inside = cv2.warpAffine(
        np.full(large.shape, 255, np.uint8), transform, size, flags=cv2.INTER_NEAREST
    )
    mask = cv2.erode(inside, np.ones((7, 7), np.uint8)) > 0
    if mask.mean() < MIN_OVERLAP:
        return None
    blur_a = cv2.GaussianBlur(small, (BLUR, BLUR), 0).astype(np.int16)
    blur_b = cv2.GaussianBlur(warped, (BLUR, BLUR), 0).astype(np.int16)
    differs = (np.abs(blur_a - blur_b) > PIXEL_DIFF) & mask
    height, width = small.shape
    worst = 0.0
    for i in range(GRID):
        for j in range(GRID):
            rows = slice(i * height // GRID, (i + 1) * height // GRID)
            cols = slice(j * width // GRID, (j + 1) * width // GRID)
            covered = mask[rows, cols]
            if covered.mean() < 0.5:
                continue
            worst = max(worst, float(differs[rows, cols][covered].mean()))
    return worst


def same_photo(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether greyscale images ``a`` and ``b`` (see :func:`grey`) show the same photo."""
    worst = worst_tile_difference(a, b)
    return worst is not None and worst <= MAX_TILE_DIFF
