"""Staff console benchmark: the reviewer queue page (/console/review, server-rendered) with
1,000,000 cases in PostgreSQL, beside the JSON API of the same queue in the same run.

    make bench-console            # or: python -m bench.console --cases 1000000

Reuses bench/workflow.py to build the case set (COPY of cases and their review tasks; the
database, default ``yibao_bench``, is dropped and created). The application runs in this
process on a free port with the container the benchmark built; a reviewer logs in through the
console's login form. Then the page and the API are requested alternately, one at a time, and
the latencies seen by the client are reported as p50/p95/p99 with the page/API ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
from tortoise import Tortoise

from backend import db
from backend.app import create_app
from backend.bootstrap import bootstrap
from backend.cases import checks
from backend.cases.models import Case
from backend.clock import SystemClock
from backend.identity.models import Account, Role
from backend.identity.passwords import hash_password
from backend.infra.kv import MemoryStore
from bench import workflow
from bench.harness import free_port
from config.settings import Settings

PASSWORD = "Bench@console-2026"


async def reviewer() -> None:
    await Account.get_or_create(
        username="bench-console",
        defaults={
            "role": Role.REVIEWER,
            "display_name": "审核员·压测",
            "password_hash": hash_password(PASSWORD),
            "categories": ["reimbursement", "chronic"],
        },
    )


async def console_login(http: httpx.AsyncClient) -> None:
    page = await http.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    form = {"username": "bench-console", "password": PASSWORD, "csrf_token": token.group(1)}
    done = await http.post("/console/login", data=form)
    assert done.status_code == 303, done.text[:300]


async def api_token(http: httpx.AsyncClient) -> str:
    r = await http.post(
        "/api/v1/auth/staff/login", json={"username": "bench-console", "password": PASSWORD}
    )
    r.raise_for_status()
    return r.json()["access_token"]


async def timed(http: httpx.AsyncClient, path: str, **kw: object) -> float:
    started = time.perf_counter()
    r = await http.get(path, **kw)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return elapsed


def summary(label: str, ms: list[float]) -> float:
    q = statistics.quantiles(ms, n=100)
    print(
        f"{label:<28} n={len(ms)}  p50 {q[49]:6.2f} ms  p95 {q[94]:6.2f} ms  "
        f"p99 {q[98]:6.2f} ms  max {max(ms):6.2f} ms"
    )
    return q[94]


async def measure(port: int, samples: int) -> tuple[float, float]:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await console_login(http)
        bearer = {"Authorization": f"Bearer {await api_token(http)}"}
        first = await http.get("/console/review")
        assert "待领取" in first.text and first.text.count("<tr") > 20, first.text[:500]
        for _ in range(20):  # warm up both paths
            await timed(http, "/console/review")
            await timed(http, "/api/v1/review/queue?size=50", headers=bearer)
        page, api = [], []
        for _ in range(samples):  # alternate, so both see the same machine load
            page.append(await timed(http, "/console/review"))
            api.append(await timed(http, "/api/v1/review/queue?size=50", headers=bearer))
    page_p95 = summary("console /console/review", page)
    api_p95 = summary("baseline API review/queue", api)
    print(
        f"page/API p95 ratio {page_p95 / api_p95:.2f}; "
        f"median ratio {statistics.median(page) / statistics.median(api):.2f}"
    )
    return page_p95, api_p95


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    args = parser.parse_args()
    url = os.environ.get("YIBAO_BENCH_DATABASE_URL", workflow.DEFAULT_URL)
    if not args.reuse:
        print(f"database: {urlparse(url).path.lstrip('/')} (recreated)")
        await workflow.recreate_database(url)
    settings = Settings(_env_file=None, data_dir=Path("var/bench"), database_url=url)
    c = bootstrap(settings, kv=MemoryStore(SystemClock()))
    workflow.register_definitions(c.definitions)
    checks.check_definitions(c.policies, c.definitions, c.hooks)
    server = None
    try:
        await Tortoise.init(config=db.tortoise_config(url))
        if not args.reuse:
            await Tortoise.generate_schemas(safe=False)
            print(f"loading {args.cases:,} cases with COPY (bench/workflow.py) ...")
            load_s = await workflow.load(url, args.cases)
            print(f"load: {load_s:.1f} s")
        await reviewer()
        cases = await Case.all().count()
        app = create_app(c, name="yibao_bench_console")
        port = free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        page_p95, api_p95 = await measure(port, args.samples)
        print(f"RESULT cases={cases} queue_page_p95_ms={page_p95:.2f} api_p95_ms={api_p95:.2f}")
    finally:
        if server is not None:
            await server.before_stop()
            await server.close()
            await server.after_stop()
        await Tortoise.close_connections()
        await c.kv.close()
        if not args.keep:
            await workflow.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
