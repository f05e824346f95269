"""Signed terminal requests through the real app: accepted, and each way of being refused."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEntry
from backend.terminals.models import Terminal
from backend.terminals.service import HEADER_SIGNATURE, HEADERS, deactivate_terminal
from tests.factories import make_terminal, terminal_headers

WHOAMI = "/api/v1/terminal/whoami"


def assert_refused(response, code: str) -> None:
    assert response.status == 401, response.text
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    assert "x-request-id" in response.headers


async def test_valid_signature_returns_the_institution(c, client):
    term = await make_terminal(c)
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert response.status == 200, response.text
    assert response.json == {
        "key_id": term.identity.key_id,
        "institution": {
            "code": "H33010600123",
            "name": "西湖区第一人民医院",
            "city_code": "330100",
        },
    }


async def test_query_string_is_signed_as_sent(c, client):
    term = await make_terminal(c)
    target = WHOAMI + "?probe=1&b=%E4%B8%AD"
    _, ok = await client.get(target, headers=terminal_headers(c, term, "GET", target))
    assert ok.status == 200, ok.text
    # Signing the path without the query does not cover a request that has one.
    _, bad = await client.get(target, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(bad, "TERMINAL_SIGNATURE_INVALID")


async def test_bad_signature_is_refused(c, client):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    headers[HEADER_SIGNATURE] = "A" * 43 + "="
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_SIGNATURE_INVALID")


async def test_wrong_secret_is_refused(c, client):
    term = await make_terminal(c)
    other = await make_terminal(c, institution_code="P33010600999", name="康民大药房")
    # key id of one terminal, secret of another
    forged = type(term)(identity=term.identity, secret=other.secret)
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, forged, "GET", WHOAMI))
    assert_refused(response, "TERMINAL_SIGNATURE_INVALID")


async def test_signature_for_another_method_is_refused(c, client):
    term = await make_terminal(c)
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "POST", WHOAMI))
    assert_refused(response, "TERMINAL_SIGNATURE_INVALID")


async def test_unknown_key_id_is_refused(c, client):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    headers["X-Terminal-Key"] = "tk_0000000000000000"
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_UNKNOWN")


async def test_inactive_terminal_is_refused(c, client):
    term = await make_terminal(c)
    await deactivate_terminal(c, term.identity.key_id, reason="设备遗失")
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(response, "TERMINAL_UNKNOWN")
    assert not (await Terminal.get(key_id=term.identity.key_id)).is_active


async def test_stale_timestamp_is_refused(c, client, clock):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    clock.advance(seconds=c.settings.terminal_max_skew_s + 1)
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_TIMESTAMP_STALE")
    assert response.json["error"]["details"]["max_skew_s"] == c.settings.terminal_max_skew_s


async def test_timestamp_within_skew_is_accepted(c, client, clock):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    clock.advance(seconds=c.settings.terminal_max_skew_s - 1)
    _, response = await client.get(WHOAMI, headers=headers)
    assert response.status == 200, response.text


async def test_future_timestamp_is_refused(c, client):
    term = await make_terminal(c)
    future = int(c.clock.now().timestamp()) + c.settings.terminal_max_skew_s + 5
    headers = terminal_headers(c, term, "GET", WHOAMI, timestamp=future)
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_TIMESTAMP_STALE")


async def test_replayed_nonce_is_refused(c, client):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    _, first = await client.get(WHOAMI, headers=headers)
    assert first.status == 200
    _, again = await client.get(WHOAMI, headers=headers)
    assert_refused(again, "TERMINAL_NONCE_REPLAYED")
    # Re-signing with the same nonce and a new timestamp does not help either.
    resigned = terminal_headers(
        c,
        term,
        "GET",
        WHOAMI,
        nonce=headers["X-Terminal-Nonce"],
        timestamp=int(c.clock.now().timestamp()) + 1,
    )
    _, third = await client.get(WHOAMI, headers=resigned)
    assert_refused(third, "TERMINAL_NONCE_REPLAYED")


async def test_same_nonce_of_another_terminal_is_independent(c, client):
    one = await make_terminal(c)
    two = await make_terminal(c, institution_code="P33010600999", name="康民大药房")
    nonce = "shared-nonce-0123456789"
    _, a = await client.get(WHOAMI, headers=terminal_headers(c, one, "GET", WHOAMI, nonce=nonce))
    _, b = await client.get(WHOAMI, headers=terminal_headers(c, two, "GET", WHOAMI, nonce=nonce))
    assert (a.status, b.status) == (200, 200)


async def test_tampered_body_is_refused(c, client):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI, body=b'{"amount": "10.00"}')
    _, response = await client.request(
        "GET", WHOAMI, headers=headers, content=b'{"amount": "99.00"}'
    )
    assert_refused(response, "TERMINAL_SIGNATURE_INVALID")


async def test_signed_body_is_accepted(c, client):
    term = await make_terminal(c)
    payload = b'{"amount": "10.00"}'
    headers = terminal_headers(c, term, "GET", WHOAMI, body=payload)
    _, response = await client.request("GET", WHOAMI, headers=headers, content=payload)
    assert response.status == 200, response.text


@pytest.mark.parametrize("missing", HEADERS)
async def test_missing_header_is_refused(c, client, missing):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    del headers[missing]
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_AUTH_MISSING")
    assert response.json["error"]["details"]["missing"] == [missing]


async def test_no_headers_at_all_is_refused(c, client):
    _, response = await client.get(WHOAMI)
    assert_refused(response, "TERMINAL_AUTH_MISSING")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Terminal-Timestamp", "yesterday"),
        ("X-Terminal-Timestamp", "-5"),
        ("X-Terminal-Timestamp", "1" * 30),
        ("X-Terminal-Nonce", "short"),
        ("X-Terminal-Nonce", "x" * 65),
        ("X-Terminal-Nonce", "has space in the nonce"),
        ("X-Terminal-Signature", "not base64!"),
        ("X-Terminal-Signature", "ab" * 32),  # hex is not the encoding
        ("X-Terminal-Key", "k" * 65),
        ("X-Terminal-Key", "tk/../../etc"),
    ],
)
async def test_malformed_header_is_refused(c, client, header, value):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    headers[header] = value
    _, response = await client.get(WHOAMI, headers=headers)
    assert_refused(response, "TERMINAL_AUTH_MALFORMED")
    assert response.json["error"]["details"]["invalid"] == [header]


async def test_refusals_record_nothing_and_do_not_spend_the_nonce(c, client, clock):
    term = await make_terminal(c)
    audit_before = await AuditEntry.all().count()
    good = terminal_headers(c, term, "GET", WHOAMI)
    for tamper in (
        {HEADER_SIGNATURE: "B" * 43 + "="},
        {"X-Terminal-Key": "tk_ffffffffffffffff"},
    ):
        _, response = await client.get(WHOAMI, headers={**good, **tamper})
        assert response.status == 401
    # A forged request with the terminal's nonce did not burn it: the real one still passes.
    _, response = await client.get(WHOAMI, headers=good)
    assert response.status == 200, response.text
    assert await AuditEntry.all().count() == audit_before


async def test_a_cached_terminal_disabled_is_refused_at_once(c, client):
    term = await make_terminal(c)
    headers = terminal_headers(c, term, "GET", WHOAMI)
    _, response = await client.get(WHOAMI, headers=headers)
    assert response.status == 200, response.text
    # With Redis, served from the cache now: a change behind the service's back is not seen
    # (the embedded default reads the database every time, see the next test)...
    await Terminal.filter(key_id=term.identity.key_id).update(is_active=False)
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    cached = c.cache.live and c.kv.reaches_other_processes
    assert response.status == (200 if cached else 401), response.text
    # ...but deactivation through the service drops it in every process at once.
    await deactivate_terminal(c, term.identity.key_id, reason="设备遗失")
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(response, "TERMINAL_UNKNOWN")


async def test_unknown_key_ids_are_not_cached(c, client):
    term = await make_terminal(c)
    await Terminal.filter(key_id=term.identity.key_id).delete()
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(response, "TERMINAL_UNKNOWN")
    assert "terminal:" + term.identity.key_id not in c.cache._entries


async def test_disabled_from_another_process_is_refused_at_once(c, client, stack):
    """`yibao terminal disable` runs in its own process with its own container; in the embedded
    default (in-process store) nothing it publishes reaches the server, which must still refuse
    the terminal's next request."""
    from backend.bootstrap import bootstrap
    from backend.infra.kv import MemoryStore

    if c.kv.reaches_other_processes:
        pytest.skip("the embedded default's case: with Redis the invalidation feed reaches")
    term = await make_terminal(c)
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert response.status == 200, response.text
    cli = bootstrap(c.settings, clock=c.clock, kv=MemoryStore(c.clock))
    await deactivate_terminal(cli, term.identity.key_id, reason="药店停业")
    _, response = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(response, "TERMINAL_UNKNOWN")
