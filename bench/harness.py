"""Shared parts of the HTTP benchmarks (``bench/me_http.py``, ``bench/voucher.py``): ``wrk`` runs
and their parsing, the throw-away stack the real app runs on (PostgreSQL + Redis when both answer,
else SQLite), and started servers that are always stopped.

Run the benchmarks as modules from the repository root (``python -m bench.me_http``), so that
``from bench.harness import ...`` resolves.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx responses plus socket errors


# --- wrk -----------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        requests=int(total.group(1)),
        errors=errors,
    )


def run_wrk(
    url: str,
    headers: dict[str, str],
    duration_s: int,
    connections: int,
    *,
    script: Path | None = None,
    script_args: list[str] | None = None,
    cwd: Path | None = None,
) -> WrkResult:
    """``wrk -t1 -c<connections> -d<duration_s>s --latency``, optionally driven by a Lua
    ``script`` (given ``script_args`` after ``--``, run in ``cwd``)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


# --- the stack the real app runs on ---------------------------------------------------------


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    label: str
    database_url: str
    redis_url: str | None
    admin_url: str | None = None  # PostgreSQL: where to create and drop the bench database
    db_name: str | None = None


async def pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def bench_stack(tmp: Path, force_sqlite: bool) -> Iterator[Stack]:
    pg = os.environ.get("YIBAO_BENCH_DATABASE_URL") or os.environ.get(
        "YIBAO_TEST_DATABASE_URL", DEFAULT_PG
    )
    redis = os.environ.get("YIBAO_BENCH_REDIS_URL") or os.environ.get(
        "YIBAO_TEST_REDIS_URL", DEFAULT_REDIS
    )
    if force_sqlite or not (reachable(pg, 5432) and reachable(redis, 6379)):
        yield Stack("SQLite + in-process store", f"sqlite://{tmp / 'data' / 'bench.sqlite3'}", None)
        return
    name = f"yibao_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = urlparse(pg)._replace(path=f"/{name}").geturl()
    asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
    try:
        yield Stack("PostgreSQL + Redis", url, redis, admin_url=pg, db_name=name)
    finally:
        try:
            asyncio.run(pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:  # report, but do not hide the run's own outcome
            print(f"warning: could not drop bench database {name}: {exc}", file=sys.stderr)


def app_env(stack: Stack, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env.update(
        YIBAO_ENV="development",
        YIBAO_DATA_DIR=str(data_dir),
        YIBAO_DATABASE_URL=stack.database_url,
        YIBAO_WORKERS="1",
    )
    if stack.redis_url:
        env["YIBAO_REDIS_URL"] = stack.redis_url
    return env


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """Started servers, each in its own process group, all stopped on exit or error."""

    def __init__(self, log_dir: Path) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._log_dir = log_dir

    def start(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        log = open(self._log_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._procs.append((name, proc))

    def cpu_seconds(self, name: str) -> float:
        """CPU time (user + system) used so far by the processes of server ``name``'s process
        group (Linux ``/proc``): per request, a figure the machine's other load barely moves."""
        group = dict(self._procs)[name].pid
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process is gone
                continue
            if int(fields[2]) == group:  # pgrp
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self._log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, name: str, url: str, timeout_s: float = 60) -> None:
        proc = dict(self._procs)[name]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout_s}s:\n{self.log_tail(name)}")

    def stop_all(self) -> None:
        for _, proc in self._procs:
            if proc.poll() is None:
                with suppress(ProcessLookupError):  # Sanic shuts down gracefully on SIGINT
                    os.killpg(proc.pid, signal.SIGINT)
        for _, proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._procs.clear()


def check_json(url: str, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{url} answered {exc.code}: {exc.read()[:300]!r}") from exc


def report_run(i: int, label: str, result: WrkResult) -> None:
    print(
        f"  run {i} {label}  {result.rps:10.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  ({result.requests} requests)"
    )


@dataclass(frozen=True)
class Comparison:
    rps: float
    bare_rps: float
    p99_ms: float

    @property
    def ratio(self) -> float:
        return self.rps / self.bare_rps


def compare(
    label: str,
    runs: list[WrkResult],
    bare: list[WrkResult],
    target: float | None,
    baseline: str = "bare Sanic JSON",
) -> Comparison:
    """Medians of the alternating runs, printed beside the ``baseline`` runs (``bare``, by
    default the bare Sanic endpoint), with the verdict on their ratio against ``target``."""
    result = Comparison(
        rps=statistics.median(r.rps for r in runs),
        bare_rps=statistics.median(r.rps for r in bare),
        p99_ms=statistics.median(r.p99_ms for r in runs),
    )
    bare_p99 = statistics.median(r.p99_ms for r in bare)
    width = max(len(label), len(baseline))
    for name, rps, p99 in (
        (label, result.rps, result.p99_ms),
        (baseline, result.bare_rps, bare_p99),
    ):
        print(f"median  {name:<{width}}  {rps:10.1f} req/s  p99 {p99:.2f} ms")
    if target is None:
        print(f"ratio {result.ratio:.3f} (over {baseline})")
    else:
        verdict = "meets" if result.ratio >= target else "BELOW"
        print(f"ratio {result.ratio:.3f} over {baseline} ({verdict} the target {target:.2f})")
    return result
