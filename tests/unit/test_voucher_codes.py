"""A presented code (``backend.vouchers.codes``): base64url decoded strictly, ES256 checked with
the parsed key, as PyJWT would."""

from __future__ import annotations

import base64
import string
from datetime import UTC, datetime

import jwt
import pytest

from backend.vouchers import errors
from backend.vouchers.codes import issue_code, parse_code, verify_signature
from backend.vouchers.keyset import VoucherKey, new_key_entry, parse_key_set

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


@pytest.fixture
def key() -> VoucherKey:
    entry = new_key_entry(datetime(2026, 1, 1, tzinfo=UTC))
    return parse_key_set({"keys": [entry]}, "voucher-keys.json").keys[0]


def test_a_genuine_code_verifies_here_and_with_pyjwt(key):
    issued = issue_code(key, "AbCdEfGhIjK", T0, 120)
    claims = verify_signature(key, parse_code(issued.code), 30)
    assert (claims.voucher_id, claims.nonce, claims.issued_at) == (
        "AbCdEfGhIjK",
        issued.nonce,
        issued.issued_at,
    )
    decoded = jwt.decode(
        issued.code, key.public_key, algorithms=["ES256"], options={"verify_exp": False}
    )
    assert decoded["v"] == "AbCdEfGhIjK"


def test_a_non_canonical_segment_is_malformed(key):
    """The 64-byte signature is 86 characters: the last one has 4 unused bits. Setting one of
    them decodes to the same bytes, and is refused, as PyJWT refuses it."""
    code = issue_code(key, "AbCdEfGhIjK", T0, 120).code
    last = ALPHABET.index(code[-1])
    forged = code[:-1] + ALPHABET[last | 1]
    with pytest.raises(errors.CodeMalformed):
        parse_code(forged)
    with pytest.raises(jwt.DecodeError):
        jwt.decode(forged, key.public_key, algorithms=["ES256"], options={"verify_exp": False})


def test_a_changed_or_short_signature_is_invalid(key):
    code = issue_code(key, "AbCdEfGhIjK", T0, 120).code
    head, _, signature = code.rpartition(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    raw = base64.urlsafe_b64decode(signature + "==")
    short = base64.urlsafe_b64encode(raw[:62]).rstrip(b"=").decode()
    for bad in (f"{head}.{flipped}", f"{head}.{short}"):  # changed; 62 bytes
        with pytest.raises(errors.CodeSignatureInvalid):
            verify_signature(key, parse_code(bad), 30)
