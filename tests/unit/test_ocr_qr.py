"""QR decoding on electronic receipts and the cross-check with the OCR reading."""

from __future__ import annotations

import numpy as np
import qrcode

from ocr.qr import cross_check, decode_qr, parse_payload


def test_parse_comma_payload() -> None:
    v = parse_payload("01,MED,44010124,0012345678,3e1d2f,123.45,20240305")
    assert v == {
        "invoice_code": "44010124",
        "invoice_number": "0012345678",
        "check_code": "3e1d2f",
        "total_amount": "123.45",
        "issue_date": "2024-03-05",
    }


def test_parse_url_payload() -> None:
    v = parse_payload(
        "https://pjcy.example.gov.cn/verify?billCode=44010124&billNo=0012345678"
        "&random=3e1d2f&total=123.4&date=20240305"
    )
    assert v["invoice_code"] == "44010124"
    assert v["total_amount"] == "123.40"
    assert v["issue_date"] == "2024-03-05"


def test_unknown_payload_is_not_cross_checked() -> None:
    assert parse_payload("hello world") == {}


def _qr_image(payload: str) -> np.ndarray:
    qr = qrcode.QRCode(border=4, box_size=6)
    qr.add_data(payload)
    img = np.asarray(qr.make_image(fill_color="black", back_color="white").convert("RGB"))
    canvas = np.full((600, 800, 3), 250, np.uint8)
    h, w = img.shape[:2]
    canvas[100 : 100 + h, 150 : 150 + w] = img
    return canvas


def test_decode_and_cross_check() -> None:
    payload = "01,MED,44010124,0012345678,3e1d2f,123.45,20240305"
    qr = decode_qr(_qr_image(payload))
    assert qr.found and qr.payload == payload and qr.box is not None
    ok = cross_check(
        qr, {"invoice_code": "44010124", "invoice_number": "0012345678", "total_amount": "123.45"}
    )
    assert ok["ok"] is True
    bad = cross_check(qr, {"invoice_code": "44010124", "total_amount": "128.45"})
    assert bad["ok"] is False
    assert bad["fields"]["total_amount"] == {"qr": "123.45", "ocr": "128.45", "match": False}


def test_no_qr() -> None:
    qr = decode_qr(np.full((300, 400, 3), 255, np.uint8))
    assert not qr.found
    assert cross_check(qr, {})["ok"] is None
