"""Decoding uploaded images: EXIF orientation applied explicitly (whatever OpenCV's default),
the pixel count bounded before decoding."""

from __future__ import annotations

import io

import cv2
import numpy as np

MAX_PIXELS = 60_000_000


class ImageError(ValueError):
    """The bytes are not an image we can read (or one that is too large)."""


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
