"""QR codes on electronic receipts (财政电子票据): decode with OpenCV and cross-check.

The payload format of real 医疗收费电子票据 QR codes is not confirmed yet (see the anchors
report, §6.6). Two shapes are understood:
- comma-separated, VAT-invoice style: ``01,<type>,<code>,<number>,<check>,<total>,<yyyymmdd>``
  (fields are recognised by their shape, so the order may vary);
- a verification URL whose query names the values (``billCode``/``billNo``/``random``/
  ``total``/``date`` and common spellings).
Unknown payloads are reported as decoded but unparsed; nothing is cross-checked then.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlparse

import cv2
import numpy as np

from ocr.checks import to_decimal

QR_KEYS = ("invoice_code", "invoice_number", "check_code", "total_amount", "issue_date")

_URL_KEYS = {
    "invoice_code": ("billcode", "pjdm", "ebillcode", "invoicecode", "code", "fpdm"),
    "invoice_number": ("billno", "pjhm", "ebillno", "invoiceno", "number", "fphm"),
    "check_code": ("random", "checkcode", "jym", "pjjym", "verifycode"),
    "total_amount": ("total", "totalamt", "amount", "je", "money"),
    "issue_date": ("date", "issuedate", "kprq", "billdate"),
}


@dataclass
class QrResult:
    found: bool = False
    payload: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    box: list[list[int]] | None = None


def _norm_date(text: str) -> str | None:
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", text.strip())
    if not m:
        return None
    if not 1990 <= int(m.group(1)) <= 2100:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def parse_payload(payload: str) -> dict[str, str]:
    """Canonical values from a QR payload (empty when the format is unknown)."""
    payload = payload.strip()
    out: dict[str, str] = {}
    if re.match(r"https?://", payload, re.I):
        query = {k.lower(): v for k, v in parse_qsl(urlparse(payload).query)}
        for key, names in _URL_KEYS.items():
            for n in names:
                if query.get(n):
                    out[key] = query[n]
                    break
    elif "," in payload:
        parts = [p.strip() for p in payload.split(",")]
        digits = [p for p in parts if re.fullmatch(r"\d{8,12}", p) and _norm_date(p) is None]
        if len(digits) >= 2:
            out["invoice_code"], out["invoice_number"] = digits[0], digits[1]
        for p in parts:
            if "total_amount" not in out and re.fullmatch(r"\d+\.\d{2}", p):
                out["total_amount"] = p
            elif "issue_date" not in out and _norm_date(p) and len(p) == 8:
                out["issue_date"] = p
        idx_number = parts.index(out["invoice_number"]) if "invoice_number" in out else -1
        if 0 <= idx_number < len(parts) - 1:
            cand = parts[idx_number + 1]
            if re.fullmatch(r"[0-9A-Za-z]{4,20}", cand) and not re.fullmatch(r"\d+\.\d{2}", cand):
                out["check_code"] = cand
    if "issue_date" in out:
        d = _norm_date(out["issue_date"])
        if d:
            out["issue_date"] = d
        else:
            del out["issue_date"]
    if "total_amount" in out:
        amount = to_decimal(out["total_amount"])
        if amount is None:
            del out["total_amount"]
        else:
            out["total_amount"] = f"{amount:.2f}"
    return out


def _try(detector: Any, img: np.ndarray) -> tuple[str, np.ndarray | None]:
    try:
        text, points, _ = detector.detectAndDecode(img)
    except cv2.error:
        return "", None
    return text or "", points


def decode_qr(
    image: np.ndarray, *, thorough: bool = False, extra: Sequence[np.ndarray] = ()
) -> QrResult:
    """Find and decode one QR code in a BGR or grey image.

    The quick path runs OpenCV's detector once. ``thorough`` (used when the receipt says it is
    electronic) also tries the ArUco-based detector, a 1.5× upscale and the ``extra`` images.
    Boxes are in ``image`` pixels (only for the first image).
    """
    detectors: list[Any] = [cv2.QRCodeDetector()]
    if thorough and hasattr(cv2, "QRCodeDetectorAruco"):
        detectors.append(cv2.QRCodeDetectorAruco())
    attempts: list[tuple[np.ndarray, float]] = [(image, 1.0)]
    if thorough:
        attempts.append(
            (cv2.resize(image, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC), 1 / 1.5)
        )
        attempts += [(img, 0.0) for img in extra]
    for img, scale in attempts:
        for det in detectors:
            text, points = _try(det, img)
            if not text:
                continue
            box = None
            if points is not None and scale:
                box = [
                    [int(x * scale), int(y * scale)] for x, y in np.asarray(points).reshape(-1, 2)
                ]
            return QrResult(True, text, parse_payload(text), box)

    return QrResult(False)


def cross_check(qr: QrResult, values: dict[str, Any]) -> dict[str, Any]:
    """Compare the QR values with the OCR reading, field by field."""
    if not qr.found:
        return {"ok": None, "detail": "未发现二维码", "present": False}
    if not qr.values:
        return {
            "ok": None,
            "detail": "二维码内容格式未识别",
            "present": True,
            "payload": qr.payload,
        }
    fields: dict[str, Any] = {}
    for key, qv in qr.values.items():
        ov = values.get(key)
        fields[key] = {"qr": qv, "ocr": ov, "match": None if ov is None else str(ov) == qv}
    mismatched = [k for k, v in fields.items() if v["match"] is False]
    return {
        "ok": not mismatched,
        "detail": "二维码与票面一致"
        if not mismatched
        else "二维码与票面不一致：" + "、".join(mismatched),
        "present": True,
        "fields": fields,
    }
