"""HTTP benchmark: authenticated ``GET /api/v1/me`` of the real app against a bare Sanic JSON
endpoint, in the same run, one worker each, loaded by ``wrk`` over loopback.

    make bench-http            # or: .venv/bin/python -m bench.me_http [--sqlite] [--runs 3]

The real app is served by ``yibao serve --workers 1`` on PostgreSQL + Redis when both answer
(as in production; URLs from YIBAO_BENCH_DATABASE_URL / YIBAO_BENCH_REDIS_URL, else the test
ones, else the local default ports), otherwise on SQLite with the in-process store. A
throw-away database and data folder are created for the run and removed afterwards; a
citizen with a bound identity and phone number is seeded and its access token used.

Each measurement is ``wrk -t1 -c32 -d10s --latency``; the two servers are measured
alternately ``--runs`` times and the medians reported, since the machine is shared and noisy.
The last line is ``RESULT me_rps=… bare_rps=… ratio=… me_p99_ms=…``.
"""

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.harness import (
    Servers,
    WrkResult,
    app_env,
    bench_stack,
    check_json,
    compare,
    free_port,
    report_run,
    run_wrk,
)

_HERE = os.path.dirname(os.path.abspath(__file__))
BARE_APP = Path(_HERE) / "bare_app.py"
TARGET_RATIO = 0.60  # asked of #13


async def _seed(env: dict[str, str]) -> str:
    """A citizen with a bound identity and phone, as after a real login; returns a token."""
    from backend import db
    from backend.bootstrap import bootstrap
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
    c = bootstrap(settings)
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
                profile = check_json(me_url, auth)
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
                        report_run(i, label, result)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"bench-http failed: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()

    me = compare("GET /api/v1/me (authenticated)", me_runs, bare_runs, TARGET_RATIO)
    print(
        f"RESULT me_rps={me.rps:.0f} bare_rps={me.bare_rps:.0f} ratio={me.ratio:.3f} "
        f"me_p99_ms={me.p99_ms:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
