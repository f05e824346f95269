"""The OCR pipeline on receipts generated at test time by the bench generator.

A few images only (each RapidOCR read is about a second on two cores).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench import ocr_synth as synth
from ocr.pipeline import FIELD_KEYS, read_invoice
from ocr.preprocess import ImageError, decode_image, prepare
from tests.conftest import require


@pytest.fixture(autouse=True)
def _fonts() -> None:
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")


KEY_FIELDS = ("invoice_code", "invoice_number", "issue_date", "total_amount", "visit_type")


def _items(values: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((i["name"], i["amount"]) for i in values)


@pytest.fixture(scope="module")
def electronic() -> tuple[Any, Any]:
    sample = synth.make_sample(
        3, 11, layout="electronic", visit_type="outpatient", difficulty="clean"
    )
    return sample, read_invoice(sample.data)


def test_electronic_receipt_fields_and_checks(electronic: tuple[Any, Any]) -> None:
    sample, reading = electronic
    truth = sample.truth["fields"]
    for key in (
        *KEY_FIELDS,
        "check_code",
        "payer_name",
        "hospital_name",
        "total_amount_upper",
        "fund_paid",
        "personal_cash_paid",
    ):
        assert reading.value(key) == truth[key], key
    assert _items(reading.value("items")) == _items(truth["items"])
    checks = reading.checks
    assert checks["upper_matches_total"]["ok"] is True
    assert checks["items_sum_matches_total"]["ok"] is True
    assert checks["payments_add_up"]["ok"] is True
    assert checks["qr"]["present"] is True and checks["qr"]["ok"] is True


def test_to_json_schema(electronic: tuple[Any, Any]) -> None:
    _, reading = electronic
    doc = json.loads(reading.to_json())
    assert set(doc["fields"]) == set(FIELD_KEYS)
    for key, f in doc["fields"].items():
        assert {"value", "confidence", "box"} <= set(f), key
        assert 0.0 <= f["confidence"] <= 1.0
    code = doc["fields"]["invoice_code"]
    assert len(code["box"]) == 4 and all(len(p) == 2 for p in code["box"])
    assert all(isinstance(i["amount"], str) for i in doc["fields"]["items"]["value"])
    assert {"upper_matches_total", "items_sum_matches_total", "payments_add_up", "qr"} <= set(
        doc["checks"]
    )


@pytest.mark.parametrize(("rotation", "layout"), [(90, "paper_grid"), (180, "paper_list")])
def test_rotated_phone_photo_is_read(rotation: int, layout: str) -> None:
    sample = synth.make_sample(
        5,
        11,
        layout=layout,
        visit_type="inpatient",
        difficulty="photo",
        rotation=rotation,
        exif=False,
    )
    reading = read_invoice(sample.data)
    truth = sample.truth["fields"]
    # the generator turns the page clockwise; the pipeline turns it back
    assert reading.meta["rotation"] == (360 - rotation) % 360
    assert reading.meta["page_found"] is True
    for key in KEY_FIELDS:
        assert reading.value(key) == truth[key], key
    assert reading.checks["upper_matches_total"]["ok"] is True
    # boxes are in the uploaded image's pixels
    w, h = Image.open(io.BytesIO(sample.data)).size
    box = reading.fields["invoice_code"].box
    assert box is not None and all(0 <= x < w and 0 <= y < h for x, y in box)


def test_exif_orientation_is_applied() -> None:
    sample = synth.make_sample(
        7, 11, layout="paper_grid", difficulty="photo", rotation=90, exif=True
    )
    assert sample.truth["meta"]["degradation"]["exif_orientation"] == 6
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(sample.data)))
    img = decode_image(sample.data)
    assert img.shape[:2] == (upright.size[1], upright.size[0])
    assert prepare(img).rotation == 0


def test_tesseract_engine_reads_a_clean_scan() -> None:
    sample = synth.make_sample(2, 11, layout="electronic", difficulty="clean")
    reading = read_invoice(sample.data, engine="tesseract", use_qr=False)
    truth = sample.truth["fields"]
    assert reading.engine == "tesseract"
    assert reading.value("invoice_code") == truth["invoice_code"]
    assert reading.value("invoice_number") == truth["invoice_number"]


def test_bad_input() -> None:
    with pytest.raises(ImageError):
        decode_image(b"not an image")
    with pytest.raises(ValueError):
        read_invoice(b"x", engine="nope")
    blank = io.BytesIO()
    Image.fromarray(np.full((200, 300, 3), 255, np.uint8)).save(blank, format="PNG")
    reading = read_invoice(blank.getvalue())
    assert reading.value("total_amount") is None
    assert reading.checks["upper_matches_total"]["ok"] is None


def test_warm_up_loads_the_engine_that_every_later_read_shares() -> None:
    from ocr.engines import RapidOcrEngine
    from ocr.pipeline import warm_up

    warm_up()
    shared = RapidOcrEngine._shared
    assert shared is not None
    warm_up()
    assert RapidOcrEngine()._ocr is shared  # one model load per process


def test_recognition_split_over_threads_reads_what_one_thread_reads() -> None:
    import cv2

    from ocr.rapid import ReceiptOCR

    page = np.full((420, 900, 3), 255, np.uint8)
    words = ["No 00012345", "2025-11-01", "Total 1234.56", "Cash 56.80", "A", "Fund 9,876.50"]
    for k, text in enumerate(words):
        cv2.putText(page, text, (30 + 60 * (k % 2), 55 + 62 * k), cv2.FONT_HERSHEY_SIMPLEX,
                    1.3, (0, 0, 0), 3)  # fmt: skip
    params = {"Global.log_level": "error", "Global.use_cls": False}
    one = ReceiptOCR(1, params)(page, return_word_box=True)
    two = ReceiptOCR(2, params)(page, return_word_box=True)
    assert len(one.txts) >= 4
    assert two.txts == one.txts
    assert two.scores == pytest.approx(one.scores)
    assert [[w[0] for w in line] for line in two.word_results] == [
        [w[0] for w in line] for line in one.word_results
    ]
