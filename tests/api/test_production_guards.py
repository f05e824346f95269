"""Production guards: no demo data with known passwords, no development endpoints."""

from __future__ import annotations

import pytest

from backend.app import create_app
from backend.demo import DemoRefusedInProduction, seed_demo
from backend.identity.models import Account
from tests.conftest import StartedASGIClient

DEV_PATHS = ["/api/v1/dev/login-code", "/api/v1/payments/orders/1/simulate-pay"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def test_seed_demo_refuses_to_run_in_production(c, monkeypatch):
    # The attack as reported: seed-demo in production created staff with the demo password.
    monkeypatch.setattr(c.settings, "env", "production")
    with pytest.raises(DemoRefusedInProduction):
        await seed_demo(c)
    assert await Account.all().count() == 0


async def test_development_endpoints_do_not_exist_in_production(c, stack):
    # The attack as reported: /dev/login-code answered 405 (so: it exists) in production.
    with pytest.MonkeyPatch.context() as production:
        production.setattr(c.settings, "env", "production")
        app = create_app(c, name=f"yibao-production-{stack.name}")
    # (started with the development keys: the route table is what is under test)
    client = StartedASGIClient(app)
    try:
        for path in DEV_PATHS:
            for method in METHODS:
                _, resp = await client.request(method, path, json={"user": "wang"})
                assert resp.status == 404, (method, path, resp.status)
                assert resp.json["error"]["code"] == "NOT_FOUND"
    finally:
        await client.stop()


async def test_development_endpoints_exist_in_development(client, c):
    _, resp = await client.post("/api/v1/dev/login-code", json={"user": "wang"})
    assert resp.status == 200 and resp.json["code"]
