"""HTTP benchmark: authenticated ``GET /api/v1/me`` of the real app against a bare Sanic JSON
endpoint, in the same run, one worker each, loaded by ``wrk`` over loopback.

    make bench-http            # or: .venv/bin/python -P bench/http.py [--sqlite] [--runs 3]

The real app is served by ``yibao serve --workers 1`` on PostgreSQL + Redis when both answer
(as in production; URLs from YIBAO_BENCH_DATABASE_URL / YIBAO_BENCH_REDIS_URL, else the test
ones, else the local default ports), otherwise on SQLite with the in-process store. A
throw-away database and data folder are created for the run and removed afterwards; a
citizen with a bound identity and phone number is seeded and its access token used.

Each measurement is ``wrk -t1 -c32 -d10s --latency``; the two servers are measured
alternately ``--runs`` times and the medians reported, since the machine is shared and noisy.
The last line is ``RESULT me_rps=… bare_rps=… ratio=… me_p99_ms=…``.
"""

# This file is called http.py: keep its folder off sys.path, or it would shadow the standard
# library's ``http`` package for everything imported below.
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager, suppress  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

BARE_APP = Path(_HERE) / "bare_app.py"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TARGET_RATIO = 0.40


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


def run_wrk(url: str, headers: dict[str, str], duration_s: int, connections: int) -> WrkResult:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


# --- the stack the real app runs on ---------------------------------------------------------


def _reachable(url: str, default_port: int) -> bool:
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


async def _pg_admin(admin_url: str, sql: str) -> None:
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
    if force_sqlite or not (_reachable(pg, 5432) and _reachable(redis, 6379)):
        yield Stack("SQLite + in-process store", f"sqlite://{tmp / 'data' / 'bench.sqlite3'}", None)
        return
    name = f"yibao_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = urlparse(pg)._replace(path=f"/{name}").geturl()
    asyncio.run(_pg_admin(pg, f'CREATE DATABASE "{name}"'))
    try:
        yield Stack("PostgreSQL + Redis", url, redis, admin_url=pg, db_name=name)
    finally:
        try:
            asyncio.run(_pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
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


async def _seed(env: dict[str, str]) -> str:
    """A citizen with a bound identity and phone, as after a real login; returns a token."""
    from backend import db
    from backend.container import build_container
    from backend.identity.models import Account, Role
    from backend.identity.persons import PHONE_FIELD, find_or_create_person
    from backend.identity.tokens import start_session
    from config.settings import Settings

    settings = Settings(
        _env_file=None,
        data_dir=Path(env["YIBAO_DATA_DIR"]),
        database_url=env["YIBAO_DATABASE_URL"],
        redis_url=env.get("YIBAO_REDIS_URL"),
    )
    c = build_container(settings)
    await db.init_db(settings.resolved_database_url)
    try:
        person = await find_or_create_person(c, "张三", "11010519491231002X")
        person.phone_enc = c.pii.encrypt("13812345678", PHONE_FIELD)
        await person.save(update_fields=["phone_enc"])
        account = await Account.create(
            role=Role.CITIZEN,
            openid=f"bench-{uuid.uuid4().hex}",
            display_name="张三",
            person=person,
        )
        return (await start_session(c, account)).access_token
    finally:
        await c.kv.close()
        await db.close_db()


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


def _check(url: str, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{url} answered {exc.code}: {exc.read()[:300]!r}") from exc


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="app on SQLite even if PG is up")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    if not shutil.which("wrk"):
        print("wrk is missing: run `make system-deps` or `apt-get install wrk`", file=sys.stderr)
        return 2

    # SIGTERM (CI timeouts, Ctrl-C in make) must still stop the servers: turn it into an exception.
    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)

    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        data_dir.mkdir()
        servers = Servers(tmp)
        try:
            with bench_stack(tmp, args.sqlite) as stack:
                env = app_env(stack, data_dir)
                py = sys.executable
                done = subprocess.run(
                    [py, "-m", "backend.cli", "migrate"],
                    env=env,
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")
                token = asyncio.run(_seed(env))

                me_port, bare_port = free_port(), free_port()
                servers.start(
                    "app",
                    [
                        py,
                        "-m",
                        "backend.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(me_port),
                        "--workers",
                        "1",
                    ],
                    env,
                    tmp,
                )
                servers.start("bare", [py, "-P", str(BARE_APP), "--port", str(bare_port)], env, tmp)
                me_url = f"http://127.0.0.1:{me_port}/api/v1/me"
                bare_url = f"http://127.0.0.1:{bare_port}/"
                servers.wait_ready("app", f"http://127.0.0.1:{me_port}/healthz")
                servers.wait_ready("bare", bare_url)
                auth = {"Authorization": f"Bearer {token}"}
                profile = _check(me_url, auth)
                if profile.get("role") != "citizen":
                    raise RuntimeError(f"unexpected /api/v1/me answer: {profile}")

                print(
                    f"yibao bench-http: app on {stack.label}, one worker each, "
                    f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.runs} runs "
                    f"alternating, {os.cpu_count()} CPUs"
                )
                for url, headers in ((me_url, auth), (bare_url, {})):
                    run_wrk(url, headers, 2, args.connections)  # warm-up, not counted

                me_runs: list[WrkResult] = []
                bare_runs: list[WrkResult] = []
                for i in range(1, args.runs + 1):
                    for label, url, headers, sink in (
                        ("me  ", me_url, auth, me_runs),
                        ("bare", bare_url, {}, bare_runs),
                    ):
                        result = run_wrk(url, headers, args.duration, args.connections)
                        if result.errors:
                            raise RuntimeError(f"{label.strip()} run {i}: {result.errors} errors")
                        sink.append(result)
                        print(
                            f"  run {i} {label}  {result.rps:10.1f} req/s  "
                            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                            f"({result.requests} requests)"
                        )
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"bench-http failed: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()

    me_rps = statistics.median(r.rps for r in me_runs)
    bare_rps = statistics.median(r.rps for r in bare_runs)
    me_p99 = statistics.median(r.p99_ms for r in me_runs)
    bare_p99 = statistics.median(r.p99_ms for r in bare_runs)
    ratio = me_rps / bare_rps
    print(f"median  GET /api/v1/me (authenticated): {me_rps:10.1f} req/s  p99 {me_p99:.2f} ms")
    print(f"median  bare Sanic JSON:                {bare_rps:10.1f} req/s  p99 {bare_p99:.2f} ms")
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio {ratio:.3f} ({verdict} the target {TARGET_RATIO:.2f})")
    print(
        f"RESULT me_rps={me_rps:.0f} bare_rps={bare_rps:.0f} ratio={ratio:.3f} "
        f"me_p99_ms={me_p99:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
