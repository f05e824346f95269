"""Photo reuse without false alarms, on receipts printed by bench/ocr_synth.py: two invoices
from one template are different photos; re-encoded, rescaled and cropped copies are the same."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from decimal import Decimal

import pytest
from PIL import Image

from backend.infra.photo_match import grey, same_photo
from backend.infra.uploads import dhash, hamming
from bench import ocr_synth as synth
from tests.conftest import require


def _scan(receipt: synth.Receipt, layout: str, seed: int) -> bytes:
    fonts = synth.find_cjk_fonts()
    rng = random.Random(seed)  # the same template, paper and scanner for both receipts
    img = synth.LAYOUTS[layout](receipt, synth.Fonts(fonts[0]), rng)
    out, _ = synth.scan(img, rng)
    return synth.encode(out, rng, fmt="jpg")


def _jpeg(img: Image.Image, quality: int = 70) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module", params=["electronic", "paper_grid", "paper_list"])
def pair(request: pytest.FixtureRequest) -> tuple[bytes, bytes]:
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    layout = request.param
    first = synth.make_receipt(
        random.Random(f"pair-{layout}"), visit_type="outpatient", electronic=layout == "electronic"
    )
    second = replace(
        first,
        payer_name="赵敏",
        invoice_number="0011223344",
        items=[(name, amount + Decimal("5.10"), qty) for name, amount, qty in first.items],
    )
    return _scan(first, layout, 4), _scan(second, layout, 4)


def test_two_invoices_from_one_template_are_not_the_same_photo(pair) -> None:
    first, second = pair
    assert hamming(dhash(grey(first)), dhash(grey(second))) <= 3  # the hash cannot tell
    assert not same_photo(grey(first), grey(second))


def test_copies_of_one_photo_are_the_same_photo(pair) -> None:
    original = pair[0]
    im = Image.open(io.BytesIO(original))
    w, h = im.size
    copies = {
        "re-encoded": _jpeg(im, 50),
        "rescaled": _jpeg(im.resize((w // 2, h // 2))),
        "small": _jpeg(im.resize((w // 3, h // 3)), 60),
        "cropped": _jpeg(im.crop((int(w * 0.08), int(h * 0.07), int(w * 0.97), int(h * 0.9)))),
        "cropped and rescaled": _jpeg(
            im.crop((int(w * 0.1), 0, w, int(h * 0.9))).resize((int(w * 0.45), int(h * 0.45)))
        ),
        "rotated": _jpeg(im.rotate(2, expand=True, fillcolor=(255, 255, 255))),
    }
    for name, copy in copies.items():
        assert same_photo(grey(original), grey(copy)), name


def test_different_receipts_are_not_the_same_photo(pair) -> None:
    other = synth.make_sample(5, 31, layout="paper_list", difficulty="clean").data
    assert not same_photo(grey(pair[0]), grey(other))
