"""The medical-insurance e-voucher (医保电子凭证).

A citizen bound to a real name activates a voucher for themself and family vouchers for the
relatives they may act for (亲情账户). The app fetches a short-lived signed code on demand and
shows it as a QR code; a pharmacy or hospital terminal scans it and verifies it with the server
(or offline against the published keys, reporting the use later).

- ``models``: Voucher, VoucherUse, VoucherAlert.
- ``keys``: ES256 signing keys with key ids, rotation, JWKS (``/.well-known/jwks.json``).
- ``codes``: the code format (a compact ES256 JWT) and its checks; ``qr``: PNG/SVG rendering.
- ``service``: the citizen's commands and queries.
- ``verification``: online verification and offline reports by terminals.
- ``alerts``: uses of one voucher in two cities within a short window.
- ``benefits``: the holder's active chronic-disease qualifications and remote-care filings.

The code (about 230 characters, always the same length)::

    base64url({"alg":"ES256","kid":"<8>"}) . base64url({"v":"<11>","iat":…,"exp":…,"jti":"<11>"})
    . base64url(r || s)

``v`` is the voucher's random public id (never the ID number), ``jti`` a nonce that makes each
code single-use, ``exp - iat`` the configured lifetime (``YIBAO_VOUCHER_CODE_TTL_S``, 60 s by
default). As a QR code at error-correction level M it is version 11 (61 × 61 modules).

Verifying offline (terminal SDKs): fetch the JWKS (refresh at least hourly, and when a code
names an unknown ``kid``), accept only ``alg`` ES256 with a ``kid`` from the set, check the
signature, and ``iat - skew ≤ now ≤ exp + skew`` on a synchronised clock; then report the use
with ``POST /api/v1/terminal/vouchers/uses`` as soon as the network is back.
"""
