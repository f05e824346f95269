"""Supervised processes: ``yibao serve`` replaces a web worker that dies and logs it; SIGTERM
stops ``yibao serve`` (with a request half received) and ``yibao worker`` within 10 s, and no
process is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.faults.layout import CLI, ROOT, alive, children, wait_until
from tests.servers import RedisServer, free_port, redis_available

STOP_WITHIN_S = 10


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    require(redis_available(), "redis-server")
    redis = RedisServer(tmp_path)
    redis.start()
    base = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env = base | {
        "YIBAO_DATA_DIR": str(tmp_path / "data"),
        "YIBAO_REDIS_URL": redis.url,
        "YIBAO_DATABASE_URL": f"sqlite://{tmp_path / 'data' / 'yibao.sqlite3'}",
    }
    done = subprocess.run([*CLI, "migrate"], cwd=ROOT, env=env, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr
    try:
        yield env
    finally:
        redis.stop()


def _start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, *args], cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _stopped_in_time(proc: subprocess.Popen[bytes]) -> bool:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_WITHIN_S)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return False


def _ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_a_dead_web_worker_is_replaced_and_sigterm_stops_everything(env, tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    server = _start(env, log, "serve", "--workers", "2", "--port", str(port))
    workers: set[int] = set()
    try:
        workers = wait_until(lambda: len(w := children(server.pid)) == 2 and w, 120, "2 workers")
        wait_until(lambda: _ready(port), 120, "the service answering")
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        workers = wait_until(
            lambda: len(w := children(server.pid)) == 2 and victim not in w and w,
            30,
            "a replacement worker",
        )
        wait_until(lambda: "replaced by pid" in log.read_text(), 10, "the replacement logged")
        assert f"(pid {victim}) exited" in log.read_text()
        wait_until(lambda: _ready(port), 60, "the service answering after the replacement")

        # a request in flight (headers half sent) when SIGTERM arrives
        half = socket.create_connection(("127.0.0.1", port), 5)
        half.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: t\r\n")
        assert _stopped_in_time(server), "yibao serve took more than 10 s to stop"
        half.close()
    finally:
        if server.poll() is None:
            server.kill()
    assert not [pid for pid in workers if alive(pid)]  # no web worker left behind


def test_sigterm_stops_the_job_worker(env, tmp_path):
    log = tmp_path / "worker.log"
    worker = _start(env, log, "worker")
    try:
        wait_until(lambda: "Worker starting" in log.read_text(), 120, "the job worker started")
        wait_until(
            lambda: "cron " in log.read_text() or "Enqueuing" in log.read_text(),
            60,
            "a cron job scheduled",
        )
        assert _stopped_in_time(worker), "yibao worker took more than 10 s to stop"
    finally:
        if worker.poll() is None:
            worker.kill()
    text = log.read_text()
    assert "worker stopped" in text
    # every line has a UTC timestamp
    assert all(line[:4].isdigit() and "Z " in line[:30] for line in text.splitlines() if line)
