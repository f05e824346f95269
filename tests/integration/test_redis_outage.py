"""Without Redis the service degrades instead of crashing: what needs Redis (logins with
their rate limits, signed terminal requests with their nonces) answers 503
SERVICE_UNAVAILABLE with Retry-After, logged once per outage; authenticated reads keep
serving, their tokens checked against the database. After Redis restarts, old pooled
connections cause no error: the first request succeeds."""

from __future__ import annotations

import logging
import uuid

import pytest

from backend.app import create_app
from backend.bootstrap import bootstrap
from backend.container import Container
from backend.infra.kv import RedisStore
from tests.api.test_auth import get_me
from tests.conftest import StartedASGIClient
from tests.factories import bearer, login_citizen
from tests.servers import RedisServer


@pytest.fixture
async def outage_client(c: Container, private_redis: RedisServer):
    settings = c.settings.model_copy(update={"redis_url": private_redis.url})
    container = bootstrap(
        settings,
        clock=c.clock,
        kv=RedisStore(private_redis.url),
        identity_provider=c.identity_provider,
    )
    await container.cache.start()
    client = StartedASGIClient(create_app(container, name=f"outage-{uuid.uuid4().hex[:8]}"))
    try:
        yield client
    finally:
        await client.stop()
        await container.cache.stop()
        await container.jobs.close()
        await container.kv.close()


async def test_without_redis_logins_answer_503_and_reads_keep_serving(
    outage_client, c, private_redis, caplog
):
    client = outage_client
    tokens = await login_citizen(client, c)
    assert (await get_me(client, tokens["access_token"])).status == 200

    private_redis.stop()
    caplog.set_level(logging.INFO, logger="yibao")
    for _ in range(3):
        code = c.identity_provider.issue_code("citizen-9")
        _, resp = await client.post("/api/v1/auth/citizen/login", json={"code": code})
        assert resp.status == 503, resp.text
        assert resp.headers["retry-after"] == "5"
        error = resp.json["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE" and error["message"]
        assert "x-request-id" in resp.headers
    # An access token already issued keeps working: it is checked against the database.
    assert (await get_me(client, tokens["access_token"])).status == 200
    # Logged once for the outage, not once per request, and without a traceback.
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1 and down[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]

    private_redis.start()  # same port, empty: every pooled connection is stale
    again = await login_citizen(client, c, "citizen-10")
    assert again["access_token"]
    _, resp = await client.post("/api/v1/auth/logout", headers=bearer(again["access_token"]))
    assert resp.status == 204
    assert [r for r in caplog.records if "reachable again" in r.getMessage()]
