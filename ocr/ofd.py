"""OFD files (GB/T 33190, a ZIP of XML parts): a safety check of the container, the text runs
of the first page (read with ``ofdkit``, standard library only) and the embedded images.

The container is checked before anything is decompressed, from the ZIP's central directory:
entry count, declared sizes (Python's ``zipfile`` never inflates an entry beyond its declared
size, so the declared total bounds the work), compression ratio, and entry names (absolute
paths, ``..``, drive letters, NUL bytes are refused: nothing is ever written to disk, but a
name that tries to escape says the file was not made by an invoicing system).
"""

from __future__ import annotations

import functools
import io
import posixpath
import subprocess
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

MAX_ENTRIES = 500
MAX_TOTAL_BYTES = 40 * 1024 * 1024  # uncompressed, all entries together
MAX_RATIO = 200  # uncompressed / compressed, per entry above 1 MiB
MAX_IMAGE_BYTES = 4 * 1024 * 1024
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")


class OfdError(ValueError):
    """Not an OFD file we accept (broken, not OFD, or unsafe to open)."""


class NotOfd(OfdError):
    """A ZIP, but not an OFD document (or a broken one)."""


class UnsafeOfd(OfdError):
    """An OFD container that could exhaust memory or carries path tricks."""


@dataclass(frozen=True)
class OfdRun:
    """A piece of text as placed on the page, in millimetres from the page's top left."""

    text: str
    x: float
    baseline: float
    size: float
    width: float


@dataclass(frozen=True)
class OfdPage:
    width_mm: float
    height_mm: float
    runs: list[OfdRun]
    images: list[bytes]
    pages: int


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _unsafe_name(name: str) -> bool:
    n = name.replace("\\", "/")
    if "\x00" in n or n.startswith("/") or (len(n) > 1 and n[1] == ":"):
        return True
    return ".." in posixpath.normpath(n).split("/")


def check_container(data: bytes) -> list[zipfile.ZipInfo]:
    """The entries of a safe OFD container; :class:`OfdError` otherwise."""
    if not is_zip(data):
        raise NotOfd("不是 OFD 文件")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise NotOfd("OFD 文件已损坏") from exc
    if len(infos) > MAX_ENTRIES:
        raise UnsafeOfd("OFD 文件条目过多")
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise UnsafeOfd("OFD 文件含有不安全的路径")
        if info.flag_bits & 0x1:
            raise UnsafeOfd("OFD 文件已加密")
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeOfd("OFD 文件压缩比异常")
    if total > MAX_TOTAL_BYTES:
        raise UnsafeOfd("OFD 文件解压后过大")
    names = {i.filename.replace("\\", "/").lstrip("./").casefold() for i in infos}
    if "ofd.xml" not in names:
        raise NotOfd("不是 OFD 文件（缺少 OFD.xml）")
    return infos


def read_first_page(data: bytes) -> OfdPage:
    """Text runs and embedded images of page 1 (after :func:`check_container`)."""
    import ofdkit

    infos = check_container(data)
    try:
        with ofdkit.open(data) as doc:
            if not doc.pages:
                raise OfdError("OFD 文件没有页面")
            page = doc.pages[0]
            _, _, width, height = page.box
            runs = [OfdRun(r.text, r.x, r.y, r.size, r.width) for r in page.runs if r.text.strip()]
            pages = len(doc.pages)
    except ofdkit.OFDError as exc:
        raise OfdError(f"OFD 文件无法解析：{exc}") from exc
    images: list[bytes] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in infos:
            if info.filename.lower().endswith(IMAGE_EXTENSIONS) and (
                info.file_size <= MAX_IMAGE_BYTES
            ):
                try:
                    images.append(zf.read(info))
                except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError):
                    continue
    return OfdPage(width, height, runs, images, pages)


@functools.cache
def _cjk_font_file() -> tuple[str, int] | None:
    """A Chinese font file from fontconfig (asked once per process)."""
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}:%{index}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        path, _, index = out.rpartition(":")
        return (path, int(index or 0)) if path else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _cjk_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The Chinese font at ``size``, else Pillow's default (the preview then shows boxes)."""
    found = _cjk_font_file()
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError:
            pass
    return ImageFont.load_default()


def render_preview(page: OfdPage, px_per_mm: float = 200 / 25.4) -> Image.Image:
    """A picture of the page's text for reviewers (the QR code and seals are not drawn)."""
    w = max(1, round(page.width_mm * px_per_mm))
    h = max(1, round(page.height_mm * px_per_mm))
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for run in page.runs:
        size = max(6, round(run.size * px_per_mm))
        if size not in fonts:
            fonts[size] = _cjk_font(size)
        draw.text(
            (run.x * px_per_mm, run.baseline * px_per_mm),
            run.text,
            font=fonts[size],
            fill="black",
            anchor="ls",
        )
    return img
