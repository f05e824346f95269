"""QR images of a code (``qrcode``; PNG through Pillow).

Error correction level M (15 % of the symbol may be lost: glare, a cracked screen). A code is
always about 230 characters (see ``backend.vouchers.codes``), which fits version 11 (61 × 61
modules) at level M; the version is reported with every code so that a change is noticed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
import qrcode.constants
import qrcode.image.svg

ERROR_CORRECTION = "M"
_LEVEL = qrcode.constants.ERROR_CORRECT_M
BOX_SIZE = 8  # pixels per module in the PNG: 69 modules with the quiet zone → 552 px
BORDER = 4  # the quiet zone the standard requires


@dataclass(frozen=True)
class QrImage:
    content: bytes
    content_type: str
    version: int


def _matrix(text: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=_LEVEL, box_size=BOX_SIZE, border=BORDER)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def qr_version(text: str) -> int:
    return int(_matrix(text).version)


def render_png(text: str) -> QrImage:
    qr = _matrix(text)
    buffer = io.BytesIO()
    qr.make_image().save(buffer, format="PNG")
    return QrImage(buffer.getvalue(), "image/png", int(qr.version))


def render_svg(text: str) -> QrImage:
    """An SVG with a white background (a transparent one does not scan on a dark screen)."""
    qr = _matrix(text)
    buffer = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage).save(buffer)
    return QrImage(buffer.getvalue(), "image/svg+xml", int(qr.version))
