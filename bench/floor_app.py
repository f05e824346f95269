"""The floor of ``bench/voucher.py``: a minimal Sanic endpoint doing only the irreducible work of
one terminal verification, naively, served like ``yibao serve`` (one process, no
access log):

1. the terminal's HMAC-SHA256 request signature over the body (the real protocol's canonical
   string, ``backend.terminals.service``), compared in constant time;
2. one PyJWT ES256 verification of the code;
3. one Redis ``SET NX EX`` (the code's first use);
4. one PostgreSQL ``INSERT`` of the use, in its own transaction, on an asyncpg pool.

No nonce, no voucher or insurance look-up, no answer beyond the voucher id: what the real path
does on top of this is its own cost. The real path should still be at least as fast, because
it commits its uses in groups.

    python -m bench.floor_app --port 8002
    # env: FLOOR_DATABASE_URL, FLOOR_REDIS_URL, FLOOR_PUBLIC_KEY (a PEM file of the voucher
    # signing key's public half), FLOOR_TERMINAL_SECRET (the terminal's secret)
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import uuid

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from jwt.algorithms import ECAlgorithm
from redis import asyncio as aioredis
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from backend.terminals.service import canonical_string, compute_signature
from bench.bare_app import serve

TABLE = (
    "CREATE TABLE IF NOT EXISTS floor_use (id bigserial PRIMARY KEY, voucher_id text NOT NULL,"
    " nonce text NOT NULL, terminal_key_id text NOT NULL, used_at timestamptz NOT NULL,"
    " UNIQUE (voucher_id, nonce))"
)
INSERT = (
    "INSERT INTO floor_use (voucher_id, nonce, terminal_key_id, used_at) VALUES ($1, $2, $3, now())"
)


def create_floor() -> Sanic:
    app = Sanic("floor")
    secret = os.environ["FLOOR_TERMINAL_SECRET"]
    with open(os.environ["FLOOR_PUBLIC_KEY"], "rb") as f:  # parsed once, as the app does
        public_key = ECAlgorithm(ECAlgorithm.SHA256).prepare_key(f.read())
        assert isinstance(public_key, EllipticCurvePublicKey)
    prefix = f"floor-{uuid.uuid4().hex[:8]}:"

    @app.before_server_start
    async def connect(app: Sanic) -> None:
        app.ctx.pool = await asyncpg.create_pool(os.environ["FLOOR_DATABASE_URL"])
        await app.ctx.pool.execute(TABLE)
        app.ctx.redis = aioredis.from_url(os.environ["FLOOR_REDIS_URL"])

    @app.after_server_stop
    async def disconnect(app: Sanic) -> None:
        await app.ctx.pool.close()
        await app.ctx.redis.aclose()

    @app.post("/verify")
    async def verify(request: Request) -> HTTPResponse:
        h = request.headers
        body = request.body
        canonical = canonical_string(
            "POST",
            request.raw_url.decode("latin-1"),
            h["x-terminal-timestamp"],
            h["x-terminal-nonce"],
            body,
        )
        expected = base64.b64decode(compute_signature(secret, canonical))
        if not hmac.compare_digest(base64.b64decode(h["x-terminal-signature"]), expected):
            return json_response({"error": "signature"}, status=401)
        claims = jwt.decode(
            json.loads(body)["code"],
            public_key,
            algorithms=["ES256"],
            options={"verify_exp": False},
        )
        key = f"{prefix}{claims['v']}.{claims['jti']}"
        if not await app.ctx.redis.set(key, "1", nx=True, ex=300):
            return json_response({"error": "used"}, status=409)
        async with app.ctx.pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT, claims["v"], claims["jti"], h["x-terminal-key"])
        return json_response({"voucher_id": claims["v"], "status": "recorded"})

    @app.get("/")
    async def ready(request: Request) -> HTTPResponse:
        return json_response({"status": "ok", "service": "floor"})

    return app


if __name__ == "__main__":
    serve(create_floor)
