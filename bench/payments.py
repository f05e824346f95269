"""Payments benchmark: orders created per second and payment callbacks processed per second
by the real app, beside a bare Sanic endpoint, plus credits per order under 50 concurrent
duplicate callbacks.

    make bench-payments        # or: .venv/bin/python -m bench.payments [--orders 1500]

The app runs as ``yibao serve --workers 1`` on a throw-away PostgreSQL database (schema from
the models) with Redis when it answers, and the in-process WeChat Pay simulator as its gateway
(prepay is a signed request and a verified answer, as with WeChat). Callbacks are signed with
the simulator's platform key and AES-256-GCM-encrypted under the API v3 key, exactly as
WeChat sends them, so each one is verified, decrypted and credited in one transaction.

All three rates are measured with the same asyncio/httpx load generator at the same
concurrency, so they are comparable with each other (the bare figure is bounded by the
generator, not by Sanic). The last line is
``RESULT orders_per_s=… callbacks_per_s=… bare_rps=… duplicate_credits=…``.
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import httpx

_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NOTIFY = "/api/v1/payments/wechat/notify"


def reachable(url: str, port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or port), 1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def open_year(today: date) -> int:
    """An insurance year whose collection period is open today (from config/policy)."""
    from config.policy import load_policies

    for version in load_policies().premium.versions:
        if version.collection_start <= today <= version.collection_end:
            return version.year
    raise SystemExit(f"no collection period is open on {today}: add one to premium.yaml")


async def seed(env: dict[str, str], persons: int) -> tuple[str, list[int], int]:
    """Schema, a station clerk and ``persons`` persons to enrol, registered at the clerk's
    station (a clerk acts only for people of their station)."""
    from tortoise import Tortoise

    from backend import db
    from backend.bootstrap import bootstrap
    from backend.clock import local_today
    from backend.identity.idcard import check_character
    from backend.identity.models import Account, Person, Role
    from backend.identity.persons import ID_FIELD
    from backend.identity.tokens import start_session
    from backend.stations.models import Station, StationLevel
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
        await Tortoise.generate_schemas(safe=True)
        station = await Station.create(code="bench", name="基准服务站", level=StationLevel.TOWN)
        year = open_year(local_today(c.clock))
        born = date(1980, 1, 1)
        rows = []
        for i in range(persons):
            day = born + timedelta(days=i // 900)
            first17 = f"330106{day:%Y%m%d}{i % 900 + 100:03d}"
            number = first17 + check_character(first17)
            rows.append(
                Person(
                    name="参保人",
                    id_number_enc=c.pii.encrypt(number, ID_FIELD),
                    id_number_idx=c.pii.blind_index(number, ID_FIELD),
                    birth_date=day,
                    gender="M",
                    region_code="330106",
                    home_station_id=station.id,
                )
            )
        await Person.bulk_create(rows, batch_size=500)
        ids = cast(list[int], await Person.all().order_by("id").values_list("id", flat=True))
        clerk = await Account.create(
            role=Role.STATION_STAFF, username="bench", display_name="b", station=station
        )
        token = (await start_session(c, clerk)).access_token
        return token, ids, year
    finally:
        await c.kv.close()
        await db.close_db()


async def count_credits(env: dict[str, str], order_id: int) -> int:
    from backend import db
    from backend.audit.models import AuditEntry

    await db.init_db(env["YIBAO_DATABASE_URL"])
    try:
        return await AuditEntry.filter(
            action="payment.credit", subject_type="payment_order", subject_id=str(order_id)
        ).count()
    finally:
        await db.close_db()


async def blast(
    client: httpx.AsyncClient, requests: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[httpx.Response]]:
    queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    for item in enumerate(requests):
        queue.put_nowait(item)
    out: list[httpx.Response | None] = [None] * len(requests)

    async def worker() -> None:
        while not queue.empty():
            i, req = queue.get_nowait()
            out[i] = await client.request(**req)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return len(requests) / elapsed, [r for r in out if r is not None]


def callback_for(sim: Any, out_trade_no: str, total: int) -> tuple[dict[str, str], bytes]:
    from backend.clock import CHINA_TZ

    plain = {
        "appid": sim.appid,
        "mchid": sim.mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + uuid.uuid4().hex[:24],
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "success_time": sim.clock.now().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
        "payer": {"openid": "o-bench"},
        "amount": {"total": total, "payer_total": total, "currency": "CNY"},
    }
    body = sim.notification_body("TRANSACTION.SUCCESS", plain)
    return {**sim.sign_headers(body), "Content-Type": "application/json"}, body


async def measure(
    app_url: str,
    bare_url: str,
    token: str,
    ids: list[int],
    year: int,
    args: argparse.Namespace,
    data_dir: Path,
) -> dict[str, float]:
    from backend.clock import SystemClock
    from backend.payments.runtime import dev_keys, make_simulator

    sim = make_simulator(dev_keys(data_dir), SystemClock())  # only to sign and encrypt
    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=app_url, limits=limits, timeout=30) as client:
        # warm-up (first requests build routes, pools, prepared statements)
        warm = ids[: args.concurrency]
        await blast(
            client,
            [
                {
                    "method": "POST",
                    "url": "/api/v1/payments/orders",
                    "json": {"year": year, "person_ids": [pid]},
                    "headers": {**auth, "Idempotency-Key": f"warm-{pid}"},
                }
                for pid in warm
            ],
            args.concurrency,
        )
        batch = ids[args.concurrency : args.concurrency + args.orders]
        orders_per_s, responses = await blast(
            client,
            [
                {
                    "method": "POST",
                    "url": "/api/v1/payments/orders",
                    "json": {"year": year, "person_ids": [pid]},
                    "headers": {**auth, "Idempotency-Key": f"o-{pid}"},
                }
                for pid in batch
            ],
            args.concurrency,
        )
        bad = [r for r in responses if r.status_code != 201]
        if bad:
            raise RuntimeError(
                f"{len(bad)} order requests failed, e.g. {bad[0].status_code} {bad[0].text[:300]}"
            )
        orders = [r.json() for r in responses]
        dup_order = orders.pop()
        callbacks = []
        for o in orders:
            headers, body = callback_for(sim, o["out_trade_no"], o["total_fen"])
            callbacks.append({"method": "POST", "url": NOTIFY, "content": body, "headers": headers})
        callbacks_per_s, responses = await blast(client, callbacks, args.concurrency)
        bad = [r for r in responses if r.status_code not in (200, 204)]
        if bad:
            raise RuntimeError(
                f"{len(bad)} callbacks failed, e.g. {bad[0].status_code} {bad[0].text[:300]}"
            )
        # 50 concurrent deliveries of one notification (each re-signed, as WeChat re-sends)
        headers, body = callback_for(sim, dup_order["out_trade_no"], dup_order["total_fen"])
        dups: list[dict[str, Any]] = [
            {
                "method": "POST",
                "url": NOTIFY,
                "content": body,
                "headers": {**sim.sign_headers(body), "Content-Type": "application/json"},
            }
            for _ in range(50)
        ]
        _, responses = await blast(client, dups, 50)
        if any(r.status_code not in (200, 204) for r in responses):
            raise RuntimeError("a duplicate callback was not acknowledged")
    async with httpx.AsyncClient(base_url=bare_url, limits=limits, timeout=30) as client:
        await blast(client, [{"method": "GET", "url": "/"}] * 200, args.concurrency)
        bare_rps, _ = await blast(
            client, [{"method": "GET", "url": "/"}] * (args.orders * 2), args.concurrency
        )
    return {
        "orders_per_s": orders_per_s,
        "callbacks_per_s": callbacks_per_s,
        "bare_rps": bare_rps,
        "dup_order_id": dup_order["id"],
    }


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready:\n{log.read_text(errors='replace')[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    pg = os.environ.get("YIBAO_BENCH_DATABASE_URL") or os.environ.get(
        "YIBAO_TEST_DATABASE_URL", DEFAULT_PG
    )
    redis = os.environ.get("YIBAO_BENCH_REDIS_URL") or os.environ.get(
        "YIBAO_TEST_REDIS_URL", DEFAULT_REDIS
    )
    if not reachable(pg, 5432):
        print(
            f"PostgreSQL ({pg}) is not reachable: this benchmark runs on PostgreSQL",
            file=sys.stderr,
        )
        return 2

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    name = f"yibao_bench_pay_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = urlparse(pg)._replace(path=f"/{name}").geturl()
    asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="yibao-bench-pay-") as tmp_name:
            tmp = Path(tmp_name)
            data_dir = tmp / "data"
            data_dir.mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
            env.update(
                YIBAO_ENV="development",
                YIBAO_DATA_DIR=str(data_dir),
                YIBAO_DATABASE_URL=url,
                YIBAO_WORKERS="1",
            )
            if reachable(redis, 6379):
                env["YIBAO_REDIS_URL"] = redis
            persons = args.orders + args.concurrency + 10
            token, ids, year = asyncio.run(seed(env, persons))
            app_port, bare_port = free_port(), free_port()
            env["YIBAO_PORT"] = str(app_port)
            py = sys.executable
            root = Path(_HERE).parent
            for cmd, log_name in (
                (
                    [
                        py,
                        "-m",
                        "backend.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(app_port),
                    ],
                    "app",
                ),
                ([py, str(Path(_HERE) / "bare_app.py"), "--port", str(bare_port)], "bare"),
            ):
                log = open(tmp / f"{log_name}.log", "wb")  # noqa: SIM115
                procs.append(
                    subprocess.Popen(
                        cmd,
                        env={**env, "PYTHONPATH": str(root)},
                        cwd=tmp,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            wait_ready(procs[0], f"http://127.0.0.1:{app_port}/healthz", tmp / "app.log")
            wait_ready(procs[1], f"http://127.0.0.1:{bare_port}/", tmp / "bare.log")
            stack = "PostgreSQL + Redis" if "YIBAO_REDIS_URL" in env else "PostgreSQL"
            print(
                f"stack: {stack}; year {year}; {args.orders} orders, concurrency {args.concurrency}"
            )
            result = asyncio.run(
                measure(
                    f"http://127.0.0.1:{app_port}",
                    f"http://127.0.0.1:{bare_port}",
                    token,
                    ids,
                    year,
                    args,
                    data_dir,
                )
            )
            duplicates = asyncio.run(count_credits(env, int(result["dup_order_id"])))
    finally:
        for proc in procs:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        with suppress(Exception):
            asyncio.run(pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"orders created:      {result['orders_per_s']:8.1f} /s")
    print(f"callbacks processed: {result['callbacks_per_s']:8.1f} /s")
    print(f"bare Sanic endpoint: {result['bare_rps']:8.1f} /s (same load generator)")
    print(f"credits for one order after 50 concurrent duplicate callbacks: {duplicates}")
    print(
        f"RESULT orders_per_s={result['orders_per_s']:.1f} "
        f"callbacks_per_s={result['callbacks_per_s']:.1f} bare_rps={result['bare_rps']:.1f} "
        f"duplicate_credits={duplicates}"
    )
    return 0 if duplicates == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
