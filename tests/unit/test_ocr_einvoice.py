"""Electronic invoices (PDF, OFD) read exactly from their text, with the QR cross-check; a
scanned e-invoice through OCR; OFD containers that are unsafe to open are refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pypdfium2 as pdfium
import pytest

from bench import einvoice_synth as esynth
from bench import ocr_synth as synth
from ocr.einvoice import EInvoiceError, kind_of, read_einvoice
from ocr.ofd import NotOfd, UnsafeOfd, check_container
from ocr.pipeline import read_invoice
from tests.conftest import require


def _items(values: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((i["name"], i["amount"]) for i in values)


@pytest.mark.parametrize("fmt", ["pdf", "ofd"])
def test_generated_e_invoices_are_read_exactly(fmt: str) -> None:
    for index in range(10):  # outpatient and inpatient, every layout variation the seed draws
        e = esynth.make_einvoice(index, 31, fmt=fmt)
        reading = read_einvoice(e.data)
        assert reading.engine == f"{fmt}-text"
        for key, expected in e.truth["fields"].items():
            got = reading.value(key)
            if key == "items":
                assert _items(got) == _items(expected), (index, key)
            else:
                assert got == expected, (index, key)
        assert reading.fields["total_amount"].confidence == 1.0
        assert reading.fields["total_amount"].source == "text"
        assert reading.checks["qr"]["ok"] is True, index
        for name in ("upper_matches_total", "items_sum_matches_total", "payments_add_up"):
            assert reading.checks[name]["ok"] is True, (index, name)


@pytest.mark.parametrize(("fmt", "field"), [("pdf", "total_amount"), ("ofd", "invoice_number")])
def test_qr_code_that_disagrees_with_the_text_is_flagged(fmt: str, field: str) -> None:
    e = esynth.make_einvoice(2, 31, fmt=fmt, tamper=field)
    reading = read_einvoice(e.data)
    qr = reading.checks["qr"]
    assert qr["present"] is True and qr["ok"] is False
    assert qr["fields"][field]["match"] is False
    # the printed text is kept (an edited file must not be silently "repaired")
    assert reading.value(field) == e.truth["fields"][field]


def test_scanned_e_invoice_goes_through_ocr_with_the_qr_check() -> None:
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    e = esynth.make_einvoice(4, 31, fmt="pdf")
    page = pdfium.PdfDocument(e.data)[0].render(scale=200 / 72).to_pil()
    scanned, _ = synth.scan(page, synth.random.Random(3))
    buf = io.BytesIO()
    scanned.save(buf, format="PNG")
    reading = read_invoice(buf.getvalue())
    assert reading.engine == "rapidocr"
    assert reading.checks["qr"]["present"] is True and reading.checks["qr"]["ok"] is True
    truth = e.truth["fields"]
    for key in ("invoice_code", "invoice_number", "check_code", "issue_date", "total_amount"):
        assert reading.value(key) == truth[key], key
    assert reading.value("payer_name") == truth["payer_name"]


def test_pdf_without_a_text_layer_is_left_to_ocr() -> None:
    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 420)
    buf = io.BytesIO()
    doc.save(buf)
    assert kind_of(buf.getvalue()) == "pdf"
    with pytest.raises(EInvoiceError):
        read_einvoice(buf.getvalue())
    with pytest.raises(EInvoiceError):
        read_einvoice(b"\xff\xd8\xff not an e-invoice")


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_unsafe_or_foreign_zip_containers_are_refused_before_inflating() -> None:
    ofd = {"OFD.xml": b"<ofd:OFD/>"}
    with pytest.raises(UnsafeOfd):  # a zip bomb: 60 MB of zeros in a few kB
        check_container(_zip({**ofd, "Doc_0/Res/a.png": b"\0" * 60_000_000}))
    with pytest.raises(UnsafeOfd):
        check_container(_zip({**ofd, "../../etc/cron.d/x": b"x"}))
    with pytest.raises(UnsafeOfd):
        check_container(_zip({**ofd, "/abs/path.xml": b"x"}))
    with pytest.raises(UnsafeOfd):
        check_container(_zip({**ofd, **{f"f{i}": b"" for i in range(600)}}))
    with pytest.raises(NotOfd):  # a zip, but a Word file
        check_container(_zip({"word/document.xml": b"<w/>"}))
    with pytest.raises(NotOfd):
        check_container(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(EInvoiceError):
        read_einvoice(_zip({**ofd, "../x": b"x"}))
