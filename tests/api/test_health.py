async def test_healthz_answers_with_request_id(client):
    _, response = await client.get("/healthz")
    assert response.status == 200
    assert response.json == {"status": "ok"}
    assert len(response.headers["x-request-id"]) >= 16


async def test_readyz_checks_database_and_cache(client):
    _, response = await client.get("/readyz")
    assert response.status == 200
    assert response.json["checks"] == {"database": "ok", "cache": "ok"}


async def test_unknown_route_uses_error_format(client):
    _, response = await client.get("/api/v1/nope")
    assert response.status == 404
    assert response.json["error"]["code"] == "NOT_FOUND"
    assert response.json["error"]["message"]


async def test_docs_serve_openapi(client):
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
    assert response.json["info"]["title"].startswith("yibao")


async def test_docs_keep_bodies_and_headers_under_authentication(client):
    _, response = await client.get("/docs/openapi.json")
    paths = response.json["paths"]
    binding = paths["/api/v1/me/binding"]["post"]
    assert "requestBody" in binding
    assert binding["security"]
    add_member = paths["/api/v1/me/family"]["post"]
    assert "requestBody" in add_member
    headers = {p["name"] for p in add_member.get("parameters", []) if p["in"] == "header"}
    assert "Idempotency-Key" in headers
