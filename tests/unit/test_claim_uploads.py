"""Upload validation by content: type, size, pixels (decompression bombs), corruption, PDF."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from backend.errors import InvalidInput
from backend.infra.uploads import (
    JPEG,
    OFD,
    PDF,
    PNG,
    CheckedUpload,
    CorruptFile,
    FileTooLarge,
    ImageTooLarge,
    ImageTooSmall,
    Limits,
    UnsupportedFileType,
    check_upload,
    hamming,
)

LIMITS = Limits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000, min_side=100, pdf_max_pages=1)


def photo(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), seed: int = 1) -> bytes:
    blocks = np.random.default_rng(seed).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize(size, Image.Resampling.BILINEAR)  # structure to hash
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=90) if fmt == "JPEG" else img.save(buf, format=fmt)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pdf(pages: int = 1) -> bytes:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_jpeg_and_png_are_recognised_by_content():
    for fmt, kind in (("JPEG", JPEG), ("PNG", PNG)):
        up = check_upload(photo(fmt), LIMITS)
        assert isinstance(up, CheckedUpload)
        assert up.content_type == kind and (up.width, up.height) == (640, 480)
        assert len(up.dhash) == 16 and len(up.sha256) == 64


@pytest.mark.parametrize(
    "data",
    [b"GIF89a" + b"\x00" * 200, b"<html><body>hi</body></html>", b"PK\x03\x04" + b"\x00" * 100],
)
def test_other_types_are_refused_whatever_the_name(data: bytes):
    with pytest.raises(UnsupportedFileType) as exc:
        check_upload(data, LIMITS)
    assert exc.value.status == 415


def test_too_many_bytes_is_413():
    with pytest.raises(FileTooLarge) as exc:
        check_upload(b"\xff\xd8\xff" + b"\x00" * (LIMITS.max_bytes + 1), LIMITS)
    assert exc.value.status == 413


def test_decompression_bomb_is_refused_before_decoding():
    bomb = png_header_only(30_000, 30_000)  # 900 megapixels declared in a few hundred bytes
    assert len(bomb) < 2000
    with pytest.raises(ImageTooLarge) as exc:
        check_upload(bomb, LIMITS)
    assert exc.value.status == 422
    # above our limit but below Pillow's: still refused by our own header check
    with pytest.raises(ImageTooLarge):
        check_upload(png_header_only(2500, 2000), LIMITS)


def test_pillow_bomb_guard_is_an_error_too(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own limit below ours
    with pytest.raises(ImageTooLarge):
        check_upload(photo(), LIMITS)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_corrupt(fmt: str):
    data = photo(fmt)
    with pytest.raises(CorruptFile) as exc:
        check_upload(data[: len(data) // 2], LIMITS)
    assert exc.value.status == 422 and exc.value.code == "FILE_CORRUPT"


def test_garbage_after_magic_is_corrupt():
    with pytest.raises(CorruptFile):
        check_upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, LIMITS)
    with pytest.raises(CorruptFile):
        check_upload(b"%PDF-1.7\n" + b"garbage" * 50, LIMITS)


def test_tiny_image_is_refused():
    with pytest.raises(ImageTooSmall):
        check_upload(photo(size=(80, 60)), LIMITS)


def test_pdf_first_page_is_rendered_for_ocr():
    up = check_upload(pdf(), LIMITS)
    assert up.content_type == PDF and up.image_type == PNG
    assert up.image.startswith(b"\x89PNG") and up.extension == "pdf"
    assert max(up.width, up.height) > 1500  # about 200 dpi on A4
    with pytest.raises(InvalidInput) as exc:
        check_upload(pdf(pages=3), LIMITS)
    assert exc.value.code == "PDF_TOO_MANY_PAGES"


def test_photo_hash_survives_recompression_and_resizing():
    original = photo("PNG", (1200, 900), seed=3)
    a = check_upload(original, LIMITS)
    im = Image.open(io.BytesIO(original)).resize((800, 600))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=70)
    b = check_upload(buf.getvalue(), LIMITS)
    assert a.sha256 != b.sha256
    assert hamming(a.dhash, b.dhash) <= 3
    other = check_upload(photo("PNG", (1200, 900), seed=200), LIMITS)
    assert hamming(a.dhash, other.dhash) > 10  # a different picture is far away


def test_ofd_e_invoice_is_accepted_with_a_preview_and_unsafe_containers_are_refused():
    import zipfile

    from bench.einvoice_synth import make_einvoice

    e = make_einvoice(1, 5, fmt="ofd")
    up = check_upload(e.data, LIMITS)
    assert up.content_type == OFD and up.extension == "ofd" and up.original == e.data
    assert up.image_type == PNG and up.image.startswith(b"\x89PNG") and up.width > up.height

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", "<ofd:OFD/>")
        zf.writestr("Doc_0/Res/big.png", b"\0" * 45_000_000)
    with pytest.raises(InvalidInput) as exc:
        check_upload(bomb.getvalue(), Limits(10_000_000, 4_000_000, 100, 1))
    assert exc.value.code == "OFD_UNSAFE" and exc.value.status == 422

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("OFD.xml", "<ofd:OFD><not closed")
    with pytest.raises(CorruptFile):
        check_upload(broken.getvalue(), LIMITS)
