"""A web worker killed (SIGKILL) while terminals verify leaves no verification answered 200 without
its use recorded: answers wait for the group commit, so whatever was answered is durable.

A real server (``yibao serve``, one worker) on its own PostgreSQL database and Redis, sixteen
terminals verifying pre-signed codes, the server's process group killed mid-load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

from bench.harness import free_port
from bench.voucher import prepared_request
from tests.conftest import PG_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
TERMINALS = 16
REQUESTS = 600
KILL_AFTER = 60  # answers 200 before the kill
SERVE = [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--workers", "1"]

# Seeds the database (schema, insured persons with vouchers, a terminal) and writes pre-signed
# verification requests, in a process of its own (the test's ORM stays on the test database).
_PREPARE = """
import asyncio, json, sys
from pathlib import Path
from bench.voucher import prepare_requests, seed
env = json.loads(sys.argv[1])
seeded = asyncio.run(seed(env, 200))
prepare_requests(env, seeded, int(sys.argv[3]), Path(sys.argv[2]))
print(seeded.key_id)
"""


def _send(base: str, key_id: str, line: str) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(prepared_request(base, key_id, line), timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _load_and_kill(base: str, key_id: str, lines: list[str], server: subprocess.Popen) -> list:
    answers: list[tuple[int, dict | None]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    enough = threading.Event()

    def terminal(mine: list[str]) -> None:
        for line in mine:
            try:
                answer = _send(base, key_id, line)
            except OSError as exc:  # the server is gone
                with lock:
                    failures.append(exc)
                return
            with lock:
                answers.append(answer)
                if sum(status == 200 for status, _ in answers) >= KILL_AFTER:
                    enough.set()

    threads = [
        threading.Thread(target=terminal, args=(lines[i::TERMINALS],)) for i in range(TERMINALS)
    ]
    for thread in threads:
        thread.start()
    assert enough.wait(120), f"too few answers before the kill: {answers[:5]}"
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(30)
    for thread in threads:
        thread.join(60)
    assert failures, "the kill interrupted no verification"
    return answers


def _start(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the worker manager and its worker in one process group
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.25)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("the server did not start")


async def test_a_killed_worker_answered_200_only_for_recorded_uses(tmp_path, stack, on_postgres):
    name = f"yibao_kill_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlparse(PG_URL)._replace(path=f"/{name}").geturl()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")},
        "YIBAO_ENV": "development",
        "YIBAO_DATABASE_URL": url,
        "YIBAO_REDIS_URL": REDIS_URL,
        "YIBAO_DATA_DIR": str(tmp_path),
        "YIBAO_WORKERS": "1",
    }
    server = None
    try:
        requests_file = tmp_path / "requests.tsv"
        prepared = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", _PREPARE, json.dumps(env), str(requests_file), str(REQUESTS)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert prepared.returncode == 0, prepared.stderr
        key_id = prepared.stdout.strip().splitlines()[-1]
        lines = requests_file.read_text().splitlines()

        port = free_port()
        server = await asyncio.to_thread(_start, env, port)
        answers = await asyncio.to_thread(
            _load_and_kill, f"http://127.0.0.1:{port}", key_id, lines, server
        )

        ok = [body for status, body in answers if status == 200]
        assert len(ok) >= KILL_AFTER
        assert {status for status, _ in answers} <= {200}, answers  # fresh codes, fresh nonces
        db = await asyncpg.connect(url)
        try:
            rows = await db.fetch(
                "SELECT id, voucher_id FROM voucher_use WHERE id = ANY($1::bigint[])",
                [body["use"]["id"] for body in ok],
            )
        finally:
            await db.close()
        recorded = {(row["id"], row["voucher_id"]) for row in rows}
        answered = {(body["use"]["id"], body["voucher_id"]) for body in ok}
        assert answered <= recorded, answered - recorded
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
