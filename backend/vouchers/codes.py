"""The dynamic code: a compact ES256 JWT, and its checks. No database here.

Format (JWS compact serialisation, about 230 characters)::

    header  {"alg":"ES256","kid":"<8 chars>"}          (no "typ": every byte counts in a QR)
    payload {"v":"<voucher id, 11 chars>","iat":<unix s>,"exp":<unix s>,"jti":"<nonce, 11 chars>"}
    signature  64 bytes (r || s), base64url

``v`` is the voucher's random public id, never the ID number or any personal data. All fields
have fixed lengths, so every code has the same length and the same QR version (11 at error
correction level M, see ``backend.vouchers.qr``).

Refusals, each a 4xx with a stable code: too long (checked before any parsing), malformed,
an algorithm other than ES256 (``none``, ``HS256`` with the public key as secret, ...), an
unknown or withdrawn key id, a signature that does not verify, a key that had already retired
when the code claims to have been issued, and (by the callers) expired / not yet valid.
Tokens are made with PyJWT. A presented code is parsed here once and its signature checked by
``cryptography`` (OpenSSL) with the key object parsed when the key file was read: the ES256
check of RFC 7518 §3.4 (64 bytes r || s, ECDSA P-256 over SHA-256), as PyJWT's ES256 does it,
without PyJWT's per-call wrapping. The expiry is checked against the injected clock with a
small skew allowance.
"""

from __future__ import annotations

import binascii
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from backend.vouchers import errors
from backend.vouchers.keyset import ALGORITHM, KeySet, VoucherKey

MAX_CODE_CHARS = 1024
MAX_LIFETIME_S = 300  # the upper bound of voucher_code_ttl_s: no code may live longer
VOUCHER_ID_BYTES = 8  # 11 base64url characters
NONCE_BYTES = 8

_COMPACT_RE = re.compile(r"[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,800}\.[A-Za-z0-9_-]{0,200}")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,16}")
_ES256 = ec.ECDSA(hashes.SHA256())
_COORDINATE_BYTES = 32  # P-256: r and s are 32 bytes each in a JWS signature


def new_voucher_id() -> str:
    return secrets.token_urlsafe(VOUCHER_ID_BYTES)


def valid_voucher_id(value: str) -> bool:
    return bool(_ID_RE.fullmatch(value))


@dataclass(frozen=True)
class IssuedCode:
    code: str
    kid: str
    voucher_id: str
    nonce: str
    issued_at: int
    expires_at: int


class CodeClaims(NamedTuple):
    kid: str
    voucher_id: str
    nonce: str
    issued_at: int
    expires_at: int


def issue_code(key: VoucherKey, voucher_id: str, now: datetime, ttl_s: int) -> IssuedCode:
    if key.private_key is None:  # pragma: no cover - KeySet.signer only returns private keys
        raise ValueError(f"key {key.kid} cannot sign")
    iat = int(now.timestamp())
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    token = jwt.encode(
        {"v": voucher_id, "iat": iat, "exp": iat + ttl_s, "jti": nonce},
        key.private_key,
        algorithm=ALGORITHM,
        headers={"kid": key.kid, "typ": None},
    )
    return IssuedCode(token, key.kid, voucher_id, nonce, iat, iat + ttl_s)


class ParsedCode(NamedTuple):
    """A code split and decoded once, before any signature check."""

    kid: str
    signing_input: bytes
    payload: bytes
    signature: bytes


# The last character of a segment whose length is 2 or 3 modulo 4 carries 4 or 2 unused bits;
# canonical base64url has them zero, i.e. it is one of these (RFC 4648 §3.5).
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def _b64decode(segment: str) -> bytes:
    """Strict base64url without padding: a non-canonical encoding is refused, as PyJWT does."""
    tail = len(segment) % 4
    if tail == 1 or (tail and segment[-1] not in _CANONICAL_LAST[tail]):
        raise errors.CodeMalformed()
    # The pattern admitted only the URL-safe alphabet: map it to the standard one (str.replace
    # is several times cheaper than the translation table of base64.urlsafe_b64decode).
    standard = segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) % 4)
    try:
        raw = binascii.a2b_base64(standard, strict_mode=True)
    except (ValueError, binascii.Error) as exc:  # pragma: no cover - the pattern checked it
        raise errors.CodeMalformed() from exc
    return raw


def _json(raw: bytes) -> object:
    """A decoded segment's JSON (decoded as UTF-8 first: ``json.loads`` of bytes would guess the
    encoding in Python every time)."""
    return json.loads(raw.decode())


def parse_code(code: str) -> ParsedCode:
    """Split a well-formed ES256 code and read its key id; refuses everything else before any
    crypto. (PyJWT's own parser checks each character in Python: parsing once here, then
    verifying with ``cryptography``, costs a fraction of ``jwt.decode``.)"""
    if len(code) > MAX_CODE_CHARS:
        raise errors.CodeTooLong(max_chars=MAX_CODE_CHARS)
    if not _COMPACT_RE.fullmatch(code):
        raise errors.CodeMalformed()
    header_b64, payload_b64, signature_b64 = code.split(".")
    try:
        header = _json(_b64decode(header_b64))
    except ValueError as exc:
        raise errors.CodeMalformed() from exc
    if not isinstance(header, dict):
        raise errors.CodeMalformed()
    if header.get("alg") != ALGORITHM:
        raise errors.CodeAlgorithmRejected(accepted=[ALGORITHM])
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise errors.CodeKeyUnknown()
    return ParsedCode(
        kid=kid,
        signing_input=f"{header_b64}.{payload_b64}".encode(),
        payload=_b64decode(payload_b64),
        signature=_b64decode(signature_b64),
    )


def _signature_valid(key: VoucherKey, parsed: ParsedCode) -> bool:
    """ES256 (RFC 7518 §3.4): the JWS signature is r || s, 32 bytes each; OpenSSL checks its
    DER form."""
    raw = parsed.signature
    if len(raw) != 2 * _COORDINATE_BYTES:
        return False
    der = encode_dss_signature(
        int.from_bytes(raw[:_COORDINATE_BYTES], "big"),
        int.from_bytes(raw[_COORDINATE_BYTES:], "big"),
    )
    try:
        key.public_key.verify(der, parsed.signing_input, _ES256)
    except InvalidSignature:
        return False
    return True


def verify_signature(key: VoucherKey, parsed: ParsedCode, skew_s: float) -> CodeClaims:
    """Signature, claim shapes and the key's signing window. Not the expiry: see callers."""
    if not _signature_valid(key, parsed):
        raise errors.CodeSignatureInvalid()
    try:
        claims = _json(parsed.payload)
    except ValueError as exc:
        raise errors.CodeMalformed() from exc
    if not isinstance(claims, dict):
        raise errors.CodeMalformed()
    voucher_id, nonce = claims.get("v"), claims.get("jti")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (
        isinstance(voucher_id, str)
        and _ID_RE.fullmatch(voucher_id)
        and isinstance(nonce, str)
        and _ID_RE.fullmatch(nonce)
        and type(iat) is int
        and type(exp) is int
        and 0 < exp - iat <= MAX_LIFETIME_S
    ):
        raise errors.CodeMalformed()
    if not key.signed_within_window(iat, skew_s):
        raise errors.CodeKeyRetired()
    return CodeClaims(key.kid, voucher_id, nonce, iat, exp)


def check_live(claims: CodeClaims, now_ts: float, skew_s: float) -> None:
    """A code presented now: issued no later than now and not yet expired (± skew)."""
    if claims.issued_at > now_ts + skew_s:
        raise errors.CodeNotYetValid()
    if now_ts > claims.expires_at + skew_s:
        raise errors.CodeExpired()


def check_used_at(claims: CodeClaims, used_ts: float, skew_s: float) -> None:
    """A code an offline terminal says it accepted at ``used_ts``: valid at that moment."""
    if not claims.issued_at - skew_s <= used_ts <= claims.expires_at + skew_s:
        raise errors.UseTimeInvalid()


def key_for(key_set: KeySet, kid: str) -> VoucherKey | None:
    return key_set.get(kid) if len(kid) <= 32 else None
