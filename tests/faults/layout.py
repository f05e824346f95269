"""The production layout for the fault suite, started from scratch: a private PostgreSQL
and a private Redis (both restartable), two web workers under ``yibao serve`` and one
``yibao worker``, with their logs in files. Everything is stopped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "backend.cli"]


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def wait_until(check, timeout_s: float, what: str, every_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")


class Layout:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pg = PostgresServer()
        self.redis = RedisServer(folder)
        self.port = free_port()
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self._worker_logs = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
        self.env = env | {
            "YIBAO_DATABASE_URL": self.pg.url,
            "YIBAO_REDIS_URL": self.redis.url,
            "YIBAO_DATA_DIR": str(folder / "data"),
            "YIBAO_OCR_RETRY_DELAY_S": "1",
        }

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self) -> None:
        self.pg.init()
        self.pg.start()
        self.redis.start()
        for command in (["migrate"], ["seed-demo"]):
            done = self.cli(*command)
            assert done.returncode == 0, done.stderr
        log = (self.folder / "web.log").open("ab")
        self.web = subprocess.Popen(
            [*CLI, "serve", "--workers", "2", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.start_worker()
        wait_until(self.ready, 120, "the web service ready")

    def start_worker(self) -> None:
        self._worker_logs += 1
        log = (self.folder / f"worker-{self._worker_logs}.log").open("ab")
        self.worker = subprocess.Popen(
            [*CLI, "worker"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def web_workers(self) -> set[int]:
        assert self.web is not None
        return children(self.web.pid)

    def log(self, name: str) -> str:
        return (self.folder / name).read_text(errors="replace")

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        workers = self.web_workers() if self.web is not None else set()
        self._stop(self.worker)
        self._stop(self.web)
        for pid in workers:  # never leak a web worker into the next run
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.redis.stop()
        self.pg.destroy()
