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
