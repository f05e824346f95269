"""Security headers on every response: no sniffing, no caching of personal data, no framing."""

from __future__ import annotations

from tests.factories import make_citizen


async def test_personal_data_is_neither_sniffed_nor_cached(client, c):
    me = await make_citizen(c)
    for path, headers in [("/api/v1/me", me.headers), ("/api/v1/me", {}), ("/nowhere", {})]:
        _, resp = await client.get(path, headers=headers)
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["cache-control"] == "no-store", path


async def test_public_material_keeps_its_own_caching(client, c):
    _, resp = await client.get("/.well-known/jwks.json")
    assert resp.status == 200
    assert resp.headers["cache-control"].startswith("public")
    assert resp.headers["x-content-type-options"] == "nosniff"


async def test_html_pages_cannot_be_framed(client, c):
    _, resp = await client.get("/docs")
    assert resp.status == 200 and resp.content_type.startswith("text/html")
    policy = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert resp.headers["x-frame-options"] == "DENY"
    # JSON answers are not pages: no page policy on them
    _, resp = await client.get("/api/v1/me")
    assert "content-security-policy" not in resp.headers


async def test_a_page_with_its_own_policy_keeps_it_and_cannot_be_framed(client, c):
    _, resp = await client.get("/console/login")
    assert resp.status == 200 and resp.content_type.startswith("text/html")
    policy = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"
