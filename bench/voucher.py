"""E-voucher benchmark: terminal verifications per second and p99 through the full HTTP path
(``POST /api/v1/terminal/vouchers/verify``: HMAC request signature and nonce, ES256 code,
single-use ``SET NX``, voucher state, the use and the nonce recorded (group commit), insurance
status and benefits, the cross-city check), beside two baselines in the same run, one worker
each, loaded by ``wrk``:

- the floor (``bench/floor_app.py``): only the irreducible work of a verification, naively
  (HMAC over the body, one PyJWT ES256 verification, one Redis ``SET NX EX``, one PostgreSQL
  ``INSERT`` in its own transaction on an asyncpg pool); the target is ``floor_ratio`` (the real
  path over the floor) >= 1.0 and the real path's p99 <= 20 ms at 32 connections;
- a bare Sanic JSON endpoint (``bench/bare_app.py``).

    make bench-voucher         # or: .venv/bin/python -m bench.voucher [--runs 3]

The app is ``yibao serve --workers 1`` on a throw-away PostgreSQL database with Redis when both
answer (as in production), else SQLite and the in-process store (said in the output). The
schema comes from the models. Seeded: ``--vouchers`` insured persons with an active voucher each
and one registered pharmacy terminal.

Every code is single-use and every terminal request carries a fresh nonce, so requests cannot be
repeated: before each measured run this script mints enough codes (round-robin over the
vouchers) and signs one request per code exactly as a terminal does, and ``wrk`` replays that
file through ``bench/voucher.lua``, one pre-built request per call. A run that would need more
requests than were prepared fails rather than reporting replays as throughput (any non-2xx
answer fails the run). Codes live 300 s here (the maximum) so that a batch outlives its run.

Each measurement is ``wrk -t1 -c32 -d8s --latency``, the three servers alternately ``--runs``
times (about two minutes in all), medians reported. The floor gets its own pre-signed requests
(same codes and terminal, its own path). The last line is
``RESULT verify_rps=… floor_rps=… bare_rps=… floor_ratio=… p99_ms=…``.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from bench.harness import (
    Servers,
    WrkResult,
    app_env,
    bench_stack,
    compare,
    free_port,
    report_run,
    run_wrk,
)

_HERE = os.path.dirname(os.path.abspath(__file__))
BARE_APP = Path(_HERE) / "bare_app.py"
LUA = Path(_HERE) / "voucher.lua"
VERIFY = "/api/v1/terminal/vouchers/verify"
FLOOR_VERIFY = "/verify"
TARGET_FLOOR_RATIO = 1.0
TARGET_P99_MS = 20.0
CODE_TTL_S = 300
PURPOSE = "02121"  # 药店购药


@dataclass(frozen=True)
class Seeded:
    voucher_ids: list[str]
    key_id: str
    secret: str


def _settings(env: dict[str, str]):  # -> Settings (imported late)
    from config.settings import Settings

    return Settings(
        _env_file=None,
        data_dir=Path(env["YIBAO_DATA_DIR"]),
        database_url=env["YIBAO_DATABASE_URL"],
        redis_url=env.get("YIBAO_REDIS_URL"),
    )


async def seed(env: dict[str, str], vouchers: int) -> Seeded:
    """Schema, ``vouchers`` insured persons with an active voucher each, and a terminal."""
    from tortoise import Tortoise

    from backend import db
    from backend.bootstrap import bootstrap
    from backend.clock import local_today
    from backend.enrollment.models import Enrollment, EnrollmentStatus
    from backend.identity.idcard import check_character
    from backend.identity.models import Person
    from backend.identity.persons import ID_FIELD
    from backend.terminals.service import register_terminal
    from backend.vouchers.codes import new_voucher_id
    from backend.vouchers.keys import keyring_for
    from backend.vouchers.models import Voucher, VoucherStatus

    settings = _settings(env)
    c = bootstrap(settings)
    keyring_for(settings)  # the development key file the server will load too
    await db.init_db(settings.resolved_database_url)
    try:
        await Tortoise.generate_schemas(safe=True)
        now = c.clock.now()
        born = date(1970, 1, 1)
        people = []
        for i in range(vouchers):
            day = born + timedelta(days=i // 900)
            first17 = f"330106{day:%Y%m%d}{i % 900 + 100:03d}"
            number = first17 + check_character(first17)
            people.append(
                Person(
                    name="参保人",
                    id_number_enc=c.pii.encrypt(number, ID_FIELD),
                    id_number_idx=c.pii.blind_index(number, ID_FIELD),
                    birth_date=day,
                    gender="M",
                    region_code="330106",
                )
            )
        await Person.bulk_create(people, batch_size=1000)
        ids = list(await Person.all().order_by("id").values_list("id", flat=True))
        year = local_today(c.clock).year
        await Enrollment.bulk_create(
            [
                Enrollment(
                    person_id=pid,
                    year=year,
                    status=EnrollmentStatus.ENROLLED,
                    enrolled_at=now,
                    channel="app",
                )
                for pid in ids
            ],
            batch_size=1000,
        )
        rows = [
            Voucher(
                id=new_voucher_id(),
                person_id=pid,
                holder_id=pid,
                status=VoucherStatus.ACTIVE,
                activated_at=now,
                created_at=now,
            )
            for pid in ids
        ]
        await Voucher.bulk_create(rows, batch_size=1000)
        issued = await register_terminal(
            c, institution_code="P33010600001", institution_name="康民大药房", city_code="330100"
        )
        return Seeded([v.id for v in rows], issued.identity.key_id, issued.secret)
    finally:
        await c.kv.close()
        await db.close_db()


def prepare_requests(
    env: dict[str, str], seeded: Seeded, count: int, path: Path, target: str = VERIFY
) -> None:
    """``count`` signed verification requests to ``target``, one per line: timestamp, nonce,
    signature and body, tab-separated (``bench/voucher.lua`` builds the HTTP requests)."""
    from backend.terminals.service import sign_request
    from backend.vouchers.codes import issue_code
    from backend.vouchers.keys import keyring_for

    key = keyring_for(_settings(env)).keys.signer(datetime.now(UTC))
    ids = seeded.voucher_ids
    with path.open("w") as out:
        for i in range(count):
            code = issue_code(key, ids[i % len(ids)], datetime.now(UTC), CODE_TTL_S).code
            body = json.dumps({"code": code, "purpose": PURPOSE}, separators=(",", ":"))
            h = sign_request(seeded.key_id, seeded.secret, "POST", target, body)
            out.write(
                f"{h['X-Terminal-Timestamp']}\t{h['X-Terminal-Nonce']}\t"
                f"{h['X-Terminal-Signature']}\t{body}\n"
            )


def prepared_request(base: str, key_id: str, line: str) -> urllib.request.Request:
    """The HTTP request of one line of a prepared file (``prepare_requests``), to ``base``."""
    ts, nonce, sig, body = line.rstrip("\n").split("\t", 3)
    return urllib.request.Request(
        base + VERIFY,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Terminal-Key": key_id,
            "X-Terminal-Timestamp": ts,
            "X-Terminal-Nonce": nonce,
            "X-Terminal-Signature": sig,
        },
    )


def verify_once(base: str, env: dict[str, str], seeded: Seeded, tmp: Path) -> dict:
    """One request from a prepared file, sent plainly: the answer must be a 200."""
    one = tmp / "one.tsv"
    prepare_requests(env, seeded, 1, one)
    request = prepared_request(base, seeded.key_id, one.read_text())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"verify answered {exc.code}: {exc.read()[:300]!r}") from exc


def public_key_file(env: dict[str, str], path: Path) -> Path:
    """The signing key's public half as PEM, for the floor."""
    from cryptography.hazmat.primitives import serialization

    from backend.vouchers.keys import keyring_for

    key = keyring_for(_settings(env)).keys.signer(datetime.now(UTC)).public_key
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def verify_run(
    url: str,
    env: dict[str, str],
    seeded: Seeded,
    tmp: Path,
    count: int,
    args: argparse.Namespace,
) -> WrkResult:
    """One measured run of pre-signed verifications against ``url`` (the app or the floor)."""
    path = tmp / "requests.tsv"
    started = time.monotonic()
    prepare_requests(env, seeded, count, path, urlparse(url).path)
    prepared_s = time.monotonic() - started
    result = run_wrk(
        url,
        {},
        args.duration,
        args.connections,
        script=LUA,
        script_args=[str(path), seeded.key_id],
    )
    if result.requests > count:
        raise RuntimeError(
            f"{result.requests} requests but only {count} prepared: raise --rate-guess"
        )
    if result.errors:
        raise RuntimeError(f"{url}: {result.errors} errors (non-2xx or socket)")
    print(f"        ({count} signed requests prepared in {prepared_s:.1f} s)")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="app on SQLite even if PG is up")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--vouchers", type=int, default=10_000, help="seeded insured persons")
    parser.add_argument(
        "--rate-guess", type=int, default=0, help="requests/s to prepare for (default: measured)"
    )
    args = parser.parse_args()

    if not shutil.which("wrk"):
        print("wrk is missing: run `make system-deps` or `apt-get install wrk`", file=sys.stderr)
        return 2

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)

    runs: dict[str, list[WrkResult]] = {"verify": [], "floor": [], "bare": []}
    cpu_ms: dict[str, list[float]] = {"verify": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="yibao-bench-voucher-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        data_dir.mkdir()
        servers = Servers(tmp)
        try:
            with bench_stack(tmp, args.sqlite) as stack:
                if stack.redis_url is None:
                    raise RuntimeError("the floor needs PostgreSQL and Redis")
                env = app_env(stack, data_dir)
                seeded = asyncio.run(seed(env, args.vouchers))
                py = sys.executable
                app_port, floor_port, bare_port = free_port(), free_port(), free_port()
                serve = [py, "-m", "backend.cli", "serve", "--host", "127.0.0.1"]
                serve += ["--port", str(app_port), "--workers", "1"]
                servers.start("app", serve, env, tmp)
                floor_env = {
                    **env,
                    "FLOOR_DATABASE_URL": stack.database_url,
                    "FLOOR_REDIS_URL": stack.redis_url,
                    "FLOOR_PUBLIC_KEY": str(public_key_file(env, tmp / "floor_key.pem")),
                    "FLOOR_TERMINAL_SECRET": seeded.secret,
                }
                floor = [py, "-m", "bench.floor_app", "--port", str(floor_port)]
                servers.start("floor", floor, floor_env, Path.cwd())
                servers.start("bare", [py, "-P", str(BARE_APP), "--port", str(bare_port)], env, tmp)
                app_base = f"http://127.0.0.1:{app_port}"
                floor_base = f"http://127.0.0.1:{floor_port}"
                bare_url = f"http://127.0.0.1:{bare_port}/"
                servers.wait_ready("app", f"{app_base}/healthz")
                servers.wait_ready("floor", f"{floor_base}/")
                servers.wait_ready("bare", bare_url)
                answer = verify_once(app_base, env, seeded, tmp)
                if answer.get("insurance", {}).get("status") != "enrolled":
                    raise RuntimeError(f"unexpected verify answer: {answer}")

                print(
                    f"yibao bench-voucher: app on {stack.label}, one worker each, "
                    f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.runs} runs "
                    f"alternating, {len(seeded.voucher_ids)} vouchers, {os.cpu_count()} CPUs, "
                    f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
                )
                # Warm-up (not counted), which also tells how many requests a run needs.
                warm = _warmup(args)
                rate = verify_run(app_base + VERIFY, env, seeded, tmp, 20_000, warm).rps
                floor_rate = verify_run(floor_base + FLOOR_VERIFY, env, seeded, tmp, 20_000, warm)
                run_wrk(bare_url, {}, 2, args.connections)
                rate = args.rate_guess or int(max(rate, floor_rate.rps))
                count = int(rate * args.duration * 1.5) + 3_000

                for i in range(1, args.runs + 1):
                    for name, server, url in (
                        ("verify", "app", app_base + VERIFY),
                        ("floor", "floor", floor_base + FLOOR_VERIFY),
                    ):
                        cpu = servers.cpu_seconds(server)
                        result = verify_run(url, env, seeded, tmp, count, args)
                        cpu_ms[name].append(
                            (servers.cpu_seconds(server) - cpu) * 1000 / result.requests
                        )
                        runs[name].append(result)
                        report_run(i, f"{name:<6}", result)
                        print(f"        server CPU {cpu_ms[name][-1]:.3f} ms per request")
                    result = run_wrk(bare_url, {}, args.duration, args.connections)
                    if result.errors:
                        raise RuntimeError(f"bare run {i}: {result.errors} errors")
                    runs["bare"].append(result)
                    report_run(i, "bare  ", result)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"bench-voucher failed: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()

    label = f"POST {VERIFY}"
    verify = compare(label, runs["verify"], runs["floor"], TARGET_FLOOR_RATIO, "floor")
    bare = compare(label, runs["verify"], runs["bare"], None)
    app_cpu, floor_cpu = (statistics.median(cpu_ms[n]) for n in ("verify", "floor"))
    print(
        f"median server CPU per request: verify {app_cpu:.3f} ms, floor {floor_cpu:.3f} ms "
        f"(ratio {floor_cpu / app_cpu:.3f}; the database's and Redis's own CPU not counted)"
    )
    verdict = "meets" if verify.p99_ms <= TARGET_P99_MS else "ABOVE"
    print(f"p99 {verify.p99_ms:.2f} ms ({verdict} the target {TARGET_P99_MS:.0f} ms)")
    print(
        f"RESULT verify_rps={verify.rps:.0f} floor_rps={verify.bare_rps:.0f} "
        f"bare_rps={bare.bare_rps:.0f} floor_ratio={verify.ratio:.3f} p99_ms={verify.p99_ms:.2f}"
    )
    return 0


def _warmup(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "duration": 2})


if __name__ == "__main__":
    sys.exit(main())
