"""Uploads (invoice photos, case materials): recognise the type by content, enforce the
limits, refuse what is not safe to decode, and compute the fingerprints used by the duplicate
checks.

Accepted: JPEG, PNG, PDF and OFD (GB/T 33190 e-invoices), by their content (the file name and
the declared content type are ignored). Refused, with nothing stored:

- more bytes than ``settings.upload_max_bytes`` → 413 ``FILE_TOO_LARGE``;
- any other type → 415 ``FILE_TYPE_UNSUPPORTED``;
- more pixels than ``settings.upload_max_pixels`` (decompression bombs): checked on the header
  before anything is decoded, and Pillow's own ``DecompressionBombWarning``/``Error`` are
  errors too → 422 ``IMAGE_TOO_LARGE``;
- a file that does not decode to the end (truncated, corrupt) → 422 ``FILE_CORRUPT``;
- an image too small to be read → 422 ``IMAGE_TOO_SMALL``;
- a ZIP that is not an OFD document → 415; an OFD container that could exhaust memory (too
  many entries, too large or too compressed once inflated) or has path tricks in its entry
  names → 422 ``OFD_UNSAFE``; both judged from the ZIP directory before anything is inflated
  (``ocr.ofd.check_container``).

PDF (electronic receipts, 电子票据): the first page is rendered with PDFium (``pypdfium2``, its
binary ships in the PyPI wheel) at about 200 dpi, capped in pixels; that PNG is what reviewers
see (and what OCR reads when the PDF has no text layer), and the PDF is kept as received: the
OCR job reads an e-invoice's text layer exactly (``ocr.einvoice``). An OFD's preview is its text
drawn at 200 dpi. A PDF with more pages than
``settings.pdf_max_pages`` (default 1: one receipt per file), an encrypted or a broken PDF is
refused. PDFium parses untrusted input in this process, unsandboxed: keep the wheel current.

The fingerprints: SHA-256 of the bytes (the very same file) and a 64-bit difference hash
(dHash) of the image computed here with OpenCV (greyscale, 9×8 area resize, one bit per
horizontal gradient sign), which survives re-compression and resizing of the same photo.
"""

from __future__ import annotations

import hashlib
import io
import math
import uuid
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import DomainError, InvalidInput
from backend.infra.storage import FileStorage
from config.settings import Settings

JPEG, PNG, PDF, OFD = "image/jpeg", "image/png", "application/pdf", "application/ofd"
_MAGIC = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"%PDF-", PDF),
    (b"PK\x03\x04", OFD),
)
EINVOICE_TYPES = (PDF, OFD)
_PIL_FORMAT = {JPEG: "JPEG", PNG: "PNG"}
PDF_DPI = 200
PDF_MAX_SIDE = 3000


class FileTooLarge(DomainError):
    status = 413
    code = "FILE_TOO_LARGE"
    message = "文件过大，请压缩后重新上传"


class UnsupportedFileType(DomainError):
    status = 415
    code = "FILE_TYPE_UNSUPPORTED"
    message = "仅支持 JPEG、PNG 图片或 PDF、OFD 文件"


class ImageTooLarge(InvalidInput):
    code = "IMAGE_TOO_LARGE"
    message = "图片像素过大，请降低分辨率后重新上传"


class ImageTooSmall(InvalidInput):
    code = "IMAGE_TOO_SMALL"
    message = "图片太小，无法识别，请重新拍摄"


class CorruptFile(InvalidInput):
    code = "FILE_CORRUPT"
    message = "文件已损坏或无法读取，请重新上传"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    min_side: int
    pdf_max_pages: int


def limits_of(settings: Settings) -> Limits:
    s = settings
    return Limits(s.upload_max_bytes, s.upload_max_pixels, s.upload_min_side_px, s.pdf_max_pages)


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str  # of the original
    original: bytes
    image: bytes  # what OCR reads and reviewers see (the rendered page for a PDF)
    image_type: str
    width: int
    height: int
    sha256: str
    dhash: str  # 16 hex digits

    @property
    def extension(self) -> str:
        return {JPEG: "jpg", PNG: "png", PDF: "pdf", OFD: "ofd"}[self.content_type]


def sniff(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def dhash(gray: np.ndarray) -> str:
    """64-bit difference hash of a greyscale image, as 16 hex digits."""
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(h: str) -> tuple[str, str, str, str]:
    return h[0:4], h[4:8], h[8:12], h[12:16]


def _open_image(data: bytes, kind: str, limits: Limits) -> Image.Image:
    """Header first (size check before decoding), then a full decode to find corruption."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]])
            width, height = im.size
            if width <= 0 or height <= 0:
                raise CorruptFile()
            if width * height > limits.max_pixels:
                raise ImageTooLarge(max_pixels=limits.max_pixels)
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(max_pixels=limits.max_pixels) from None
        except DomainError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise CorruptFile() from None
    return im


def _render_pdf(data: bytes, limits: Limits) -> bytes:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise CorruptFile("PDF 文件已损坏、加密或无法读取") from None
    try:
        pages = len(pdf)
        if pages == 0:
            raise CorruptFile("PDF 文件没有页面")
        if pages > limits.pdf_max_pages:
            raise InvalidInput(
                "PDF 页数过多，请每张票据单独上传",
                code="PDF_TOO_MANY_PAGES",
                max_pages=limits.pdf_max_pages,
            )
        page = pdf[0]
        w_pt, h_pt = page.get_size()
        if not (1 <= w_pt <= 14400 and 1 <= h_pt <= 14400):
            raise CorruptFile("PDF 页面尺寸无效")
        scale = PDF_DPI / 72
        scale = min(scale, PDF_MAX_SIDE / max(w_pt, h_pt))
        scale = min(scale, math.sqrt(limits.max_pixels / (w_pt * h_pt)))
        try:
            pil = page.render(scale=scale).to_pil()
        except pdfium.PdfiumError:
            raise CorruptFile("PDF 页面无法渲染") from None
        buf = io.BytesIO()
        pil.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()
    finally:
        pdf.close()


def _render_ofd(data: bytes, limits: Limits) -> bytes:
    from ocr.ofd import NotOfd, OfdError, UnsafeOfd, read_first_page, render_preview

    try:
        page = read_first_page(data)
    except NotOfd:
        raise UnsupportedFileType() from None
    except UnsafeOfd as exc:
        raise InvalidInput(str(exc), code="OFD_UNSAFE") from None
    except OfdError:
        raise CorruptFile("OFD 文件已损坏或无法读取") from None
    w_mm, h_mm = page.width_mm, page.height_mm
    if not (1 <= w_mm <= 5000 and 1 <= h_mm <= 5000):
        raise CorruptFile("OFD 页面尺寸无效")
    scale = min(PDF_DPI / 25.4, PDF_MAX_SIDE / max(w_mm, h_mm))
    scale = min(scale, math.sqrt(limits.max_pixels / (w_mm * h_mm)))
    buf = io.BytesIO()
    render_preview(page, scale).save(buf, format="PNG")
    return buf.getvalue()


def check_upload(data: bytes, limits: Limits) -> CheckedUpload:
    """Validate one upload (CPU work: call it in a thread). Raises the errors above."""
    if len(data) > limits.max_bytes:
        raise FileTooLarge(max_bytes=limits.max_bytes)
    if not data:
        raise InvalidInput("文件为空", code="FILE_EMPTY")
    kind = sniff(data)
    if kind is None:
        raise UnsupportedFileType()
    image, image_type = data, kind
    if kind == PDF:
        image, image_type = _render_pdf(data, limits), PNG
    elif kind == OFD:
        image, image_type = _render_ofd(data, limits), PNG
    im = _open_image(image, image_type, limits)
    try:
        upright = ImageOps.exif_transpose(im) if image_type == JPEG else im
    except Exception:  # a broken EXIF block: the pixels are fine
        upright = im
    width, height = upright.size
    if min(width, height) < limits.min_side:
        raise ImageTooSmall(min_side=limits.min_side)
    gray = np.asarray(upright.convert("L"))
    return CheckedUpload(
        content_type=kind,
        original=data,
        image=image,
        image_type=image_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        dhash=dhash(gray),
    )


async def store(storage: FileStorage, prefix: str, upload: CheckedUpload) -> tuple[str, str]:
    """Store the original and, for a PDF, its rendered first page under ``prefix``; return
    (file key, image key: the key of what reviewers see)."""
    stem = f"{prefix}/{uuid.uuid4().hex}"
    file_key = f"{stem}.{upload.extension}"
    image_key = file_key if upload.image is upload.original else f"{stem}-page1.png"
    await storage.put(file_key, upload.original, upload.content_type)
    if image_key != file_key:
        await storage.put(image_key, upload.image, upload.image_type)
    return file_key, image_key
