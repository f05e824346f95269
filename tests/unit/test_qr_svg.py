"""The SVG codes (e-voucher, result document) scan on a dark or transparent background."""

from __future__ import annotations

from backend.vouchers.qr import render_svg


def test_svg_code_has_a_white_background() -> None:
    svg = render_svg("https://example.invalid/api/v1/case-documents/verify/ABC123").content
    body = svg.split(b">", 2)[2]  # after the XML declaration and the <svg> tag
    assert body.startswith(b'<rect fill="white"'), svg[:200]
    assert b'width="100%" height="100%"' in body[:120]
