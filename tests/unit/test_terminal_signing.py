"""The terminal signature protocol, fixed by known answers (an SDK in any language must match)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from backend.errors import Unauthorized
from backend.terminals.service import (
    body_digest,
    canonical_string,
    compute_signature,
    parse_headers,
    sign_request,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_canonical_string_layout():
    text = canonical_string(
        "post", "/api/v1/vouchers/verify?x=1", "1767225600", "n0nce-abcdefghijk", b'{"a":1}'
    )
    assert text == (
        "YIBAO-HMAC-SHA256\n"
        "POST\n"
        "/api/v1/vouchers/verify?x=1\n"
        "1767225600\n"
        "n0nce-abcdefghijk\n" + hashlib.sha256(b'{"a":1}').hexdigest()
    )
    assert not text.endswith("\n")


def test_empty_body_hashes_the_empty_string():
    assert body_digest(b"") == EMPTY_SHA256
    assert canonical_string("GET", "/p", "1", "n" * 16, b"").endswith("\n" + EMPTY_SHA256)


def test_signature_is_base64_hmac_sha256_of_the_canonical_string():
    canonical = canonical_string("GET", "/api/v1/terminal/whoami", "1767225600", "a" * 16, b"")
    expected = base64.b64encode(
        hmac.new(b"s3cret", canonical.encode(), hashlib.sha256).digest()
    ).decode()
    assert compute_signature("s3cret", canonical) == expected
    assert len(expected) == 44 and expected.endswith("=")


def test_known_answer_vector():
    # Cross-checked outside Python: printf '<canonical string>' |
    #   openssl dgst -sha256 -hmac test-secret -binary | base64
    headers = sign_request(
        "tk_0123456789abcdef",
        "test-secret",
        "GET",
        "/api/v1/terminal/whoami",
        timestamp=1767225600,
        nonce="0123456789abcdef",
    )
    assert headers == {
        "X-Terminal-Key": "tk_0123456789abcdef",
        "X-Terminal-Timestamp": "1767225600",
        "X-Terminal-Nonce": "0123456789abcdef",
        "X-Terminal-Signature": "VfKA/foeK04B/FSO2dDN8OiLIH8VfJC1K8lwIxYg8cQ=",
    }


def test_sign_request_accepts_text_bodies_and_makes_fresh_nonces():
    a = sign_request("k", "s", "POST", "/x", '{"名":"张三"}', timestamp=1)
    b = sign_request("k", "s", "POST", "/x", '{"名":"张三"}'.encode(), timestamp=1)
    assert a["X-Terminal-Nonce"] != b["X-Terminal-Nonce"]
    same = sign_request("k", "s", "POST", "/x", "{}", timestamp=1, nonce=a["X-Terminal-Nonce"])
    assert same["X-Terminal-Signature"] != a["X-Terminal-Signature"]  # the body differs
    parse_headers(a)  # its own output is well-formed


@pytest.mark.parametrize(
    "field", ["method", "target", "timestamp", "nonce", "body"], ids=lambda f: f"changes-{f}"
)
def test_every_part_is_covered(field):
    parts = {
        "method": "GET",
        "target": "/p?q=1",
        "timestamp": "100",
        "nonce": "n" * 16,
        "body": b"",
    }
    base = compute_signature("k", canonical_string(**parts))
    changed = {**parts, field: b"x" if field == "body" else parts[field] + "1"}
    assert compute_signature("k", canonical_string(**changed)) != base


def test_header_lookup_is_case_insensitive_for_plain_dicts():
    headers = {k.lower(): v for k, v in sign_request("k1", "s", "GET", "/p").items()}
    assert parse_headers(headers).key_id == "k1"


def test_missing_headers_are_listed():
    with pytest.raises(Unauthorized) as info:
        parse_headers({"X-Terminal-Key": "k1"})
    assert info.value.code == "TERMINAL_AUTH_MISSING"
    assert info.value.details["missing"] == [
        "X-Terminal-Timestamp",
        "X-Terminal-Nonce",
        "X-Terminal-Signature",
    ]
