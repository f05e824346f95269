"""Synthetic medical e-invoices (医疗收费电子票据) as PDF and OFD files, with ground truth.

The receipt data comes from ``bench.ocr_synth.make_receipt``; the page is laid out in
millimetres (field order, one or two item blocks, labels and values in one text object or in
two, amounts with or without thousands separators all vary with the seed) and written as:

- PDF: hand-written objects, text in the standard ``STSong-Light`` CID font (UniGB-UCS2-H,
  with a ToUnicode map), the QR code as an image XObject;
- OFD (GB/T 33190): ``OFD.xml`` → ``Doc_0/Document.xml`` → page content with TextObjects and
  an ImageObject whose PNG lives in ``Doc_0/Res``.

``qr_receipt`` lets the QR code carry other values than the printed text (a tampered file).

    python -m bench.einvoice_synth OUT_DIR [--count 12] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import sys
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.ocr_synth import (
    GIVEN,
    SURNAMES,
    Receipt,
    make_qr,
    make_receipt,
    qr_payload,
)
from ocr.checks import amount_to_upper

PAGE_W, PAGE_H = 240.0, 150.0  # mm


@dataclass(frozen=True)
class Text:
    x: float  # mm from the left
    baseline: float  # mm from the top
    size: float  # mm
    text: str


@dataclass(frozen=True)
class Picture:
    x: float
    y: float
    w: float
    h: float
    png: bytes
    gray: bytes  # 8-bit pixels, row by row
    px: int  # side in pixels (square)


@dataclass(frozen=True)
class Rule:
    x0: float
    y0: float
    x1: float
    y1: float


Op = Text | Picture | Rule


def _qr_picture(payload: str, x: float, y: float, side: float) -> Picture:
    img = make_qr(payload, 120).convert("L")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return Picture(x, y, side, side, buf.getvalue(), img.tobytes(), img.size[0])


def layout(r: Receipt, rng: random.Random, *, qr_receipt: Receipt | None = None) -> list[Op]:
    """The page of one e-invoice, in millimetres."""
    ops: list[Op] = []
    s = rng.choice((3.2, 3.5, 3.8))
    joined = rng.random() < 0.5  # label and value in one text object

    def pair(x: float, y: float, label: str, value: str) -> None:
        if joined:
            ops.append(Text(x, y, s, f"{label}：{value}"))
        else:
            ops.append(Text(x, y, s, f"{label}："))
            ops.append(Text(x + s * (len(label) + 1) + 1.0, y, s, value))

    kind = "门诊" if r.visit_type == "outpatient" else "住院"
    title = f"{r.province}医疗{kind}收费电子票据"
    ops.append(Text(PAGE_W / 2 - len(title) * 2.6, 14, 5.2, title))
    ops.append(_qr_picture(qr_payload(qr_receipt or r, rng.randint(0, 1)), 10, 6, 24))
    head = [
        ("票据代码", r.invoice_code),
        ("票据号码", r.invoice_number),
        ("校验码", r.check_code or ""),
        ("开票日期", r.issue_date.isoformat()),
    ]
    rng.shuffle(head)
    for k, (label, value) in enumerate(head):
        pair(40 + (k % 2) * 100, 24 + (k // 2) * 6, label, value)
    people = [
        ("交款人", r.payer_name),
        ("性别", r.gender),
        ("医保类型", r.insurance_type),
        ("医疗机构类型", r.institution_type),
        ("业务流水号", r.serial),
        ("门诊号" if r.visit_type == "outpatient" else "住院号", r.visit_no),
    ]
    rng.shuffle(people)
    y = 40.0
    for k, (label, value) in enumerate(people):
        pair(10 + (k % 3) * 76, y + (k // 3) * 6, label, value)
    y += 12
    ops.append(Rule(8, y - 3, PAGE_W - 8, y - 3))
    blocks = 2 if len(r.items) > 3 and rng.random() < 0.6 else 1
    width = (PAGE_W - 20) / blocks
    cols = (0.0, 0.42, 0.56, 0.70, 0.88) if blocks == 1 else (0.0, 0.40, 0.52, 0.64, 0.86)
    heads = ("项目名称", "数量", "单位", "金额（元）", "备注")
    y += 2
    for b in range(blocks):
        x0 = 10 + b * width
        for f, h in zip(cols, heads, strict=True):
            ops.append(Text(x0 + f * width, y, s, h))
    rows = -(-len(r.items) // blocks)
    for k, (name, amount, qty) in enumerate(r.items):
        x0 = 10 + (k // rows) * width
        yy = y + 6 + (k % rows) * 5.5
        ops.append(Text(x0, yy, s, name))
        ops.append(Text(x0 + cols[1] * width, yy, s, str(qty)))
        ops.append(Text(x0 + cols[2] * width, yy, s, "项"))
        ops.append(Text(x0 + cols[3] * width, yy, s, r.money(amount)))
    y += 6 + rows * 5.5
    ops.append(Rule(8, y - 3, PAGE_W - 8, y - 3))
    y += 3
    pair(10, y, "金额合计（大写）", amount_to_upper(r.total))
    pair(150, y, "（小写）", r.money(r.total))
    y += 8
    pay = r.payments()
    rng.shuffle(pay)
    for k, (label, v) in enumerate(pay):
        pair(10 + (k % 3) * 76, y + (k // 3) * 6, label, r.money(v))
    y += 14
    ops.append(Rule(8, y - 3, PAGE_W - 8, y - 3))
    y += 3
    pair(10, y, "收款单位（章）", r.hospital_name)
    pair(150, y, "复核人", rng.choice(SURNAMES) + rng.choice(GIVEN))
    pair(195, y, "收款人", rng.choice(SURNAMES) + rng.choice(GIVEN))
    return ops


# --------------------------------------------------------------------------- PDF

PT = 72 / 25.4


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode_cmap() -> bytes:
    ranges = "\n".join(f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if hi != 0xD8)
    body = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{255} beginbfrange\n{ranges}\nendbfrange\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
    return body.encode("ascii")


def to_pdf(ops: list[Op]) -> bytes:
    """A one-page PDF of the layout."""
    w, h = PAGE_W * PT, PAGE_H * PT
    content: list[str] = ["0.1 0.1 0.1 rg 0.6 w"]
    images: list[Picture] = []
    for op in ops:
        if isinstance(op, Text):
            content.append(
                f"BT /F1 {op.size * PT:.2f} Tf {op.x * PT:.2f} {h - op.baseline * PT:.2f} Td "
                f"<{_utf16_hex(op.text)}> Tj ET"
            )
        elif isinstance(op, Rule):
            content.append(
                f"{op.x0 * PT:.2f} {h - op.y0 * PT:.2f} m {op.x1 * PT:.2f} {h - op.y1 * PT:.2f} l S"
            )
        else:
            images.append(op)
            content.append(
                f"q {op.w * PT:.2f} 0 0 {op.h * PT:.2f} {op.x * PT:.2f} "
                f"{h - (op.y + op.h) * PT:.2f} cm /Im{len(images)} Do Q"
            )
    stream = zlib.compress("\n".join(content).encode("ascii"))
    objects: list[bytes] = []

    def obj(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream_obj(data: bytes, extra: str = "") -> int:
        return obj(
            f"<< /Length {len(data)} /Filter /FlateDecode {extra}>>\nstream\n".encode()
            + data
            + b"\nendstream"
        )

    catalog = obj(b"")  # filled below
    pages = obj(b"")
    descriptor = obj(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>"
    )
    cid = obj(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
        + f" /FontDescriptor {descriptor} 0 R /DW 1000 /W [1 95 500] >>".encode()
    )
    to_unicode = stream_obj(zlib.compress(_to_unicode_cmap()))
    font = obj(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
        + f" /DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>".encode()
    )
    xobjects = []
    for k, im in enumerate(images, 1):
        n = stream_obj(
            zlib.compress(im.gray),
            f"/Type /XObject /Subtype /Image /Width {im.px} /Height {im.px}"
            " /ColorSpace /DeviceGray /BitsPerComponent 8 ",
        )
        xobjects.append(f"/Im{k} {n} 0 R")
    contents = stream_obj(stream)
    page = obj(
        f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {w:.2f} {h:.2f}]"
        f" /Resources << /Font << /F1 {font} 0 R >> /XObject << {' '.join(xobjects)} >> >>"
        f" /Contents {contents} 0 R >>".encode()
    )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages} 0 R >>".encode()
    objects[pages - 1] = f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{k} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    trailer = f"<< /Size {len(objects) + 1} /Root {catalog} 0 R >>"
    out.write(f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


# --------------------------------------------------------------------------- OFD

NS = "http://www.ofdspec.org/2016"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_ofd(ops: list[Op], *, doc_id: str = "0") -> bytes:
    """A one-page OFD (zip) of the layout."""
    objects: list[str] = []
    media: list[tuple[int, str, bytes]] = []
    next_id = 10
    for op in ops:
        next_id += 1
        if isinstance(op, Text):
            width = sum(op.size if ord(c) > 0x2E80 else op.size / 2 for c in op.text)
            objects.append(
                f'<ofd:TextObject ID="{next_id}" Boundary="{op.x:.2f} {op.baseline - op.size:.2f}'
                f' {width + 1:.2f} {op.size * 1.4:.2f}" Font="2" Size="{op.size:.2f}">'
                f'<ofd:FillColor Value="20 20 20"/>'
                f'<ofd:TextCode X="0" Y="{op.size:.2f}">{_esc(op.text)}</ofd:TextCode>'
                "</ofd:TextObject>"
            )
        elif isinstance(op, Rule):
            objects.append(
                f'<ofd:PathObject ID="{next_id}" Boundary="0 0 {PAGE_W} {PAGE_H}" LineWidth="0.2">'
                f"<ofd:AbbreviatedData>M {op.x0:.2f} {op.y0:.2f} L {op.x1:.2f} {op.y1:.2f}"
                "</ofd:AbbreviatedData></ofd:PathObject>"
            )
        else:
            res_id = 100 + len(media)
            name = f"image_{res_id}.png"
            media.append((res_id, name, op.png))
            objects.append(
                f'<ofd:ImageObject ID="{next_id}" Boundary="{op.x} {op.y} {op.w} {op.h}"'
                f' CTM="{op.w} 0 0 {op.h} 0 0" ResourceID="{res_id}"/>'
            )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ofd_xml = (
        f'{head}<ofd:OFD xmlns:ofd="{NS}" Version="1.1" DocType="OFD"><ofd:DocBody>'
        f"<ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID><ofd:Creator>yibao-bench</ofd:Creator>"
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    document = (
        f'{head}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{next_id + 200}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE_W} {PAGE_H}</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        "</ofd:Document>"
    )
    public = (
        f'{head}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
        '<ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
    )
    multimedia = "".join(
        f'<ofd:MultiMedia ID="{rid}" Type="Image"><ofd:MediaFile>{name}</ofd:MediaFile>'
        "</ofd:MultiMedia>"
        for rid, name, _ in media
    )
    document_res = (
        f'{head}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        f"<ofd:MultiMedias>{multimedia}</ofd:MultiMedias></ofd:Res>"
    )
    content = (
        f'{head}<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="1">'
        + "".join(objects)
        + "</ofd:Layer></ofd:Content></ofd:Page>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", document)
        zf.writestr("Doc_0/PublicRes.xml", public)
        zf.writestr("Doc_0/DocumentRes.xml", document_res)
        zf.writestr("Doc_0/Pages/Page_0/Content.xml", content)
        for _, name, png in media:
            zf.writestr(f"Doc_0/Res/{name}", png)
    return out.getvalue()


# --------------------------------------------------------------------------- samples


@dataclass
class EInvoice:
    name: str
    fmt: str  # pdf | ofd
    data: bytes
    receipt: Receipt
    truth: dict[str, Any]


def make_einvoice(
    index: int, seed: int = 7, *, fmt: str | None = None, tamper: str | None = None
) -> EInvoice:
    """One e-invoice. ``tamper`` names a QR field (``invoice_number``, ``total_amount``...)
    whose value the QR code carries differently from the printed text."""
    rng = random.Random(f"einvoice-{seed}-{index}")
    fmt = fmt or ("pdf" if index % 2 == 0 else "ofd")
    visit = "outpatient" if (index // 2) % 2 == 0 else "inpatient"
    variety = random.Random(f"einvoice-variety-{seed}-{index}")
    r = make_receipt(rng, visit_type=visit, electronic=True, variety=variety)
    qr_r = None
    if tamper == "invoice_number":
        qr_r = dataclasses.replace(r, invoice_number=f"{(int(r.invoice_number) + 1):010d}")
    elif tamper == "total_amount":
        items = [(*r.items[0][:1], r.items[0][1] + Decimal("100.00"), r.items[0][2])]
        qr_r = dataclasses.replace(r, items=items + r.items[1:])
    elif tamper is not None:
        raise ValueError(f"cannot tamper with {tamper!r}")
    ops = layout(r, rng, qr_receipt=qr_r)
    data = to_pdf(ops) if fmt == "pdf" else to_ofd(ops, doc_id=f"{seed}-{index}")
    truth = {"fields": r.ground_truth(), "meta": {"format": fmt, "tamper": tamper}}
    return EInvoice(f"{index:03d}", fmt, data, r, truth)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        e = make_einvoice(i, args.seed)
        (args.out_dir / f"{e.name}.{e.fmt}").write_bytes(e.data)
        (args.out_dir / f"{e.name}.json").write_text(
            json.dumps(e.truth, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    print(f"wrote {args.count} e-invoices to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
