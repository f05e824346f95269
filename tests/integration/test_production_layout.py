"""The production layout: several web workers on PostgreSQL and Redis behave as one service.

A session revoked through one worker is refused by every worker at once (the per-process caches
are invalidated through Redis)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

from tests.conftest import PG_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, method: str = "GET", body: dict | None = None, token: str = ""):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _exercise(env: dict[str, str], port: int) -> None:
    cli = [sys.executable, "-m", "backend.cli"]
    for command in (["migrate"], ["seed-demo"]):
        done = subprocess.run([*cli, *command], cwd=ROOT, env=env, capture_output=True, timeout=180)
        assert done.returncode == 0, done.stderr
    server = subprocess.Popen(
        [*cli, "serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if _call(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        status, tokens = _call(
            f"{base}/api/v1/auth/staff/login",
            "POST",
            {"username": "admin", "password": "Demo@2025"},
        )
        assert status == 200, tokens
        token = tokens["access_token"]
        # one connection per request: successive requests are spread over both workers
        assert {_call(f"{base}/api/v1/me", token=token)[0] for _ in range(8)} == {200}
        assert _call(f"{base}/api/v1/auth/logout", "POST", token=token)[0] == 204
        assert {_call(f"{base}/api/v1/me", token=token)[0] for _ in range(8)} == {401}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a slow graceful stop on a loaded machine
            server.kill()
            server.wait(timeout=30)


async def test_two_workers_share_revocations(tmp_path, stack, on_postgres):
    name = f"yibao_layout_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": urlparse(PG_URL)._replace(path=f"/{name}").geturl(),
        "YIBAO_REDIS_URL": REDIS_URL,
        "YIBAO_DATA_DIR": str(tmp_path),
    }
    try:
        await asyncio.to_thread(_exercise, env, _free_port())
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
