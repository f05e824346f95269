"""The fault suite: the production layout (two web workers and one job worker on a private
PostgreSQL and a private Redis) under a bounded mixed load, with four faults one at a time —
Redis stopped for 10 s (it keeps nothing on disk), PostgreSQL restarted, a web worker killed,
the job worker killed in the middle of an OCR job — and then the invariants:

- no answer other than 2xx, 4xx or 503 while it all happens;
- no payment credited twice, none lost (every acknowledged callback credited once);
- no revoked token, deactivated account or disabled terminal accepted after the Redis loss;
- the killed web worker replaced (and logged); every OCR job done within 60 s of recovery;
- ``yibao audit verify`` passes.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.terminals.service import sign_request
from bench.ocr_synth import make_sample
from bench.payments import callback_for
from tests.conftest import require
from tests.faults.layout import Layout, alive, wait_until
from tests.servers import postgres_available, redis_available

pytestmark = pytest.mark.servers

API = "/api/v1"
WHOAMI = f"{API}/terminal/whoami"
DEMO_PASSWORD = "Demo@2025"


class Load:
    """Background requests of every kind; records each answer (or connection failure)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: collections.Counter[tuple[str, int]] = collections.Counter()
        self.violations: list[str] = []
        self.resets = 0
        self._stop = threading.Event()
        self._calls: list[tuple[str, dict, set[int]]] = []  # (name, request, allowed statuses)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def add(self, name: str, allowed: set[int] | None = None, **request) -> None:
        self._calls.append((name, request, allowed or set()))

    def _one(self, client: httpx.Client, name: str, request: dict, allowed: set[int]) -> None:
        request = dict(request)
        signer = request.pop("signer", None)
        if signer is not None:
            request["headers"] = signer()
        try:
            status = client.request(**request).status_code
        except httpx.HTTPError:
            with self._lock:
                self.resets += 1  # a worker killed mid-connection: no answer at all
            return
        with self._lock:
            self.answers[(name, status)] += 1
            ok = status < 500 or status == 503  # 503: a server it needs is down
            if not ok or (allowed and status not in allowed | {503}):
                self.violations.append(f"{name}: {status}")

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=15) as client:
            while not self._stop.is_set():
                for name, request, allowed in self._calls:
                    self._one(client, name, request, allowed)
                time.sleep(0.02)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _json(resp: httpx.Response) -> dict:
    assert resp.status_code < 300, f"{resp.status_code} {resp.text[:300]}"
    return resp.json()


def until_answered(send, what: str, timeout_s: float = 60):
    """Retry a request while the service answers 503 or the connection fails (as a phone or
    WeChat's callback retries would)."""

    def attempt():
        try:
            resp = send()
        except httpx.HTTPError:
            return None
        return resp if resp.status_code != 503 else None

    return wait_until(attempt, timeout_s, what, every_s=0.5)


def citizen_login(client: httpx.Client, user: str) -> str:
    code = _json(client.post(f"{API}/dev/login-code", json={"user": user}))["code"]
    return _json(client.post(f"{API}/auth/citizen/login", json={"code": code}))["access_token"]


def staff_login(client: httpx.Client, username: str) -> str:
    body = {"username": username, "password": DEMO_PASSWORD}
    return _json(client.post(f"{API}/auth/staff/login", json=body))["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_terminal(layout: Layout, code: str) -> tuple[str, str]:
    done = layout.cli(
        "terminal", "add", "--institution-code", code, "--name", "故障测试药房", "--city", "330100"
    )
    assert done.returncode == 0, done.stderr
    key_id = re.search(r"key_id: (\S+)", done.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret: (\S+)", done.stdout).group(1)  # type: ignore[union-attr]
    return key_id, secret


def open_year() -> int:
    from config.policy import load_policies

    today = date.today()
    for version in load_policies().premium.versions:
        if version.collection_start <= today <= version.collection_end:
            return version.year
    raise AssertionError("no premium collection period is open today")


async def _query(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def query(layout: Layout, sql: str) -> list:
    import asyncio

    return asyncio.run(_query(layout.pg.url, sql))


def test_the_production_layout_survives_redis_postgres_and_process_faults(tmp_path: Path):
    require(postgres_available(), "PostgreSQL server binaries (postgresql)")
    require(redis_available(), "redis-server")
    layout = Layout(tmp_path)
    try:
        layout.start()
        _exercise(layout, tmp_path)
    finally:
        web_workers = layout.web_workers() if layout.web is not None else set()
        layout.stop()
        # SIGTERM stopped everything: nothing is left behind for the next run
        assert not [pid for pid in web_workers if alive(pid)]


def _exercise(layout: Layout, tmp_path: Path) -> None:
    from backend.clock import SystemClock
    from backend.payments.runtime import dev_keys, make_simulator

    client = httpx.Client(base_url=layout.base, timeout=15)
    citizen = citizen_login(client, "zhangwei")
    revoked = citizen_login(client, "wangfang")
    assert client.post(f"{API}/auth/logout", headers=bearer(revoked)).status_code == 204
    clerk = staff_login(client, "clerk_cuiyuan")
    admin = staff_login(client, "admin")
    clerk_id = _json(client.get(f"{API}/me", headers=bearer(clerk)))["id"]
    assert _json(
        client.post(
            f"{API}/admin/accounts/{clerk_id}/deactivate",
            json={"reason": "离职停用"},
            headers=bearer(admin),
        )
    )
    good_key, good_secret = add_terminal(layout, "H33010600777")
    bad_key, bad_secret = add_terminal(layout, "H33010600888")
    assert layout.cli("terminal", "disable", "--key-id", bad_key).returncode == 0

    # premium orders for the demo citizen's household, paid by callbacks during the faults
    year = open_year()
    persons = [
        p["person"]["id"]
        for p in _json(
            client.get(f"{API}/enrollment", params={"year": year}, headers=bearer(citizen))
        )["items"]
    ]
    orders = []
    for pid in persons:
        resp = client.post(
            f"{API}/payments/orders",
            json={"year": year, "person_ids": [pid]},
            headers={**bearer(citizen), "Idempotency-Key": uuid.uuid4().hex},
        )
        if resp.status_code == 201:
            orders.append(resp.json())
    assert orders, "no premium order could be created for the demo household"
    sim = make_simulator(dev_keys(Path(layout.env["YIBAO_DATA_DIR"])), SystemClock())

    def callback(order: dict) -> httpx.Response:
        headers, body = callback_for(sim, order["out_trade_no"], order["total_fen"])
        return client.post(f"{API}/payments/wechat/notify", content=body, headers=headers)

    load = Load(layout.base)
    load.add("me", {200}, method="GET", url=f"{API}/me", headers=bearer(citizen))
    load.add("me-revoked", {401}, method="GET", url=f"{API}/me", headers=bearer(revoked))
    load.add("me-deactivated", {401}, method="GET", url=f"{API}/me", headers=bearer(clerk))
    load.add(
        "terminal",
        {200},
        method="GET",
        url=WHOAMI,
        signer=lambda: sign_request(good_key, good_secret, "GET", WHOAMI),
    )
    load.add(
        "terminal-disabled",
        {401},
        method="GET",
        url=WHOAMI,
        signer=lambda: sign_request(bad_key, bad_secret, "GET", WHOAMI),
    )
    load.add(
        "login",
        {200, 429},
        method="POST",
        url=f"{API}/auth/staff/login",
        json={"username": "reviewer_claims", "password": DEMO_PASSWORD},
    )

    with load, ThreadPoolExecutor(4) as pool:
        time.sleep(2)
        # 1. Redis stopped for 10 s: it comes back empty
        layout.redis.stop()
        paid_during_outage = [pool.submit(callback, o) for o in orders[: len(orders) // 2]]
        time.sleep(10)
        layout.redis.start()
        time.sleep(3)

        # 2. PostgreSQL restarted
        layout.pg.restart()
        time.sleep(3)

        # 3. a web worker killed: replaced, and the replacement logged
        before = layout.web_workers()
        assert len(before) == 2
        os.kill(sorted(before)[0], signal.SIGKILL)
        after = wait_until(
            lambda: (w := layout.web_workers()) - before and len(w) == 2 and w,
            30,
            "a replacement web worker",
        )
        assert sorted(before)[0] not in after
        wait_until(lambda: "replaced by pid" in layout.log("web.log"), 10, "the replacement log")

        # 4. the job worker killed in the middle of an OCR job
        invoices = upload_invoices(client, citizen, count=1)
        wait_until(
            lambda: query(layout, "SELECT 1 FROM claim_invoice WHERE ocr_attempts > 0"),
            60,
            "an OCR job started",
        )
        layout.worker.kill()  # type: ignore[union-attr]
        layout.worker.wait(10)  # type: ignore[union-attr]
        layout.start_worker()
        recovered = time.monotonic()
        pending_sql = (
            "SELECT id FROM claim_invoice WHERE ocr_status = 'pending' "
            f"AND id IN ({','.join(map(str, invoices))})"
        )
        wait_until(lambda: not query(layout, pending_sql), 60, "every OCR job done")
        assert time.monotonic() - recovered < 60

        # SIGTERM to the job worker in the middle of an OCR job: gone within 10 s
        [late] = upload_invoices(client, citizen, count=1)
        wait_until(
            lambda: query(
                layout, f"SELECT 1 FROM claim_invoice WHERE id = {late} AND ocr_attempts > 0"
            ),
            60,
            "the last OCR job started",
        )
        layout.worker.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        layout.worker.wait(10)  # type: ignore[union-attr]  # raises if it takes longer

        # every payment notification acknowledged, as WeChat retries until it is
        for future in paid_during_outage:
            future.result()
        for order in orders:
            until_answered(lambda o=order: callback(o), "callback acknowledged")

    assert load.violations == [], load.violations
    assert load.answers[("me-revoked", 401)] and load.answers[("terminal-disabled", 401)]
    assert sum(n for (name, _), n in load.answers.items() if name == "me") > 0

    credits = query(
        layout,
        "SELECT subject_id, count(*) AS n FROM audit_entry "
        "WHERE action = 'payment.credit' GROUP BY subject_id",
    )
    by_order = {int(r["subject_id"]): r["n"] for r in credits}
    assert by_order == {o["id"]: 1 for o in orders}, by_order  # none twice, none lost

    verify = wait_until(
        lambda: (v := layout.cli("audit", "verify")).returncode == 0 and v,
        30,
        "yibao audit verify passes",
    )
    assert "审计链完整" in verify.stdout
    summary = {f"{name} {status}": n for (name, status), n in sorted(load.answers.items())}
    (tmp_path / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))


def upload_invoices(client: httpx.Client, token: str, count: int) -> list[int]:
    claim = _json(client.post(f"{API}/claims", json={}, headers=bearer(token)))
    ids = []
    for i in range(count):
        sample = make_sample(i, seed=13, difficulty="clean")
        ctype = "image/png" if sample.ext == "png" else "image/jpeg"
        upload = {"file": (f"r{i}.{sample.ext}", sample.data, ctype)}
        url = f"{API}/claims/{claim['id']}/invoices"
        resp = until_answered(
            lambda u=url, f=upload: client.post(u, files=f, headers=bearer(token)),
            "invoice upload",
        )
        ids.append(_json(resp)["invoice_id"])
    return ids
