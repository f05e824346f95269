"""Workflow benchmark: cases in PostgreSQL, transitions per second through the service layer
with the real audit append beside the same transitions with the audit append replaced by a
plain insert (32 concurrent writers, alternating rounds, medians), and the p95 latency of the
reviewer-queue query.

    make bench-workflow            # 1,000,000 cases: about 2 minutes on 2 cores
    python -m bench.workflow --cases 100000      # quicker; the ratio does not depend on it

The real append is the production path: an INSERT in the transition's transaction, chained
afterwards by the audit sealer running in the same process (its CPU and its transactions are
part of the measurement). The baseline inserts the same row with no sealer running.

The database (default ``yibao_bench``, from YIBAO_BENCH_DATABASE_URL) is dropped and created by
the script. Bulk rows go in with COPY; the measured operations go through the same service and
query functions the API uses, with their audit entries, events and inbox messages.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
from PIL import Image
from tortoise import Tortoise

from backend import db
from backend.audit.models import AuditEntry
from backend.audit.sealer import seal_all, sealer_loop
from backend.audit.service import verify_chain
from backend.bootstrap import bootstrap
from backend.cases import acceptance, access, checks, lists, materials, queues, review, submission
from backend.cases.models import Case, CaseTask, TaskStatus
from backend.clock import SystemClock
from backend.identity.models import Account, Role
from backend.identity.persons import find_or_create_person
from backend.identity.principal import Principal
from backend.infra.kv import MemoryStore
from config.settings import Settings
from tests.workflow_definitions import TEST_CLAIM
from workflows.registry import Registry

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/yibao_bench"
CATEGORIES = {
    "enrollment": "insurance_info_change",
    "reimbursement": "test_claim",
    "remote_care": "bench_remote_care",
    "chronic": "bench_chronic",
}
STATIONS = 60
PERSONS = 20_000
OPEN_SHARE = 0.12  # cases still under review: the reviewer queues


def register_definitions(registry: Registry) -> None:
    """The benchmark's services, on the registry of its container."""
    registry.register(TEST_CLAIM)
    for cat, code in CATEGORIES.items():
        if code.startswith("bench_"):
            registry.register(replace(TEST_CLAIM, code=code, category=cat, item_code=code))


async def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


async def columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name=$1 "
        "AND column_name <> 'id' ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


async def load(url: str, total: int, chunk: int = 50_000) -> float:
    """COPY stations, persons, accounts, cases and their tasks; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    rnd = random.Random(7)
    now = datetime.now(UTC)
    try:
        await conn.copy_records_to_table(
            "station",
            columns=["code", "name", "level", "delegated_items"],
            records=[
                (f"S{i:03d}", f"服务站{i}", "town", '["insurance_info_change"]')
                for i in range(STATIONS)
            ],
        )
        station_ids = [r[0] for r in await conn.fetch("SELECT id FROM station ORDER BY id")]
        await conn.copy_records_to_table(
            "person",
            columns=[
                "name",
                "id_number_enc",
                "id_number_idx",
                "birth_date",
                "gender",
                "region_code",
                "created_at",
            ],
            records=[
                (f"参保人{i}", "x", secrets.token_hex(16), now.date(), "M", "330106", now)
                for i in range(PERSONS)
            ],
        )
        person_ids = [r[0] for r in await conn.fetch("SELECT id FROM person ORDER BY id")]
        await conn.copy_records_to_table(
            "account",
            columns=[
                "role",
                "display_name",
                "openid",
                "categories",
                "is_active",
                "created_at",
                "person_id",
            ],
            records=[
                ("citizen", "", f"bench-{i}", "[]", True, now, pid)
                for i, pid in enumerate(person_ids)
            ],
        )
        account_ids = [r[0] for r in await conn.fetch("SELECT id FROM account ORDER BY id")]
        case_cols = await columns(conn, "workflow_case")
        task_cols = await columns(conn, "case_task")
        cats = list(CATEGORIES)
        next_case_id = 1
        for offset in range(0, total, chunk):
            n = min(chunk, total - offset)
            cases, tasks = [], []
            for i in range(n):
                cid = next_case_id + i
                cat = cats[rnd.randrange(4)]
                submitted = now - timedelta(days=rnd.uniform(0, 720))
                open_case = rnd.random() < OPEN_SHARE
                channel = "app" if rnd.random() < 0.7 else "station"
                station = rnd.choice(station_ids) if channel == "station" else None
                if open_case:  # spread due dates around now: some already overdue
                    submitted = now - timedelta(days=rnd.uniform(0, 14))
                due = submitted + timedelta(days=rnd.uniform(5, 20))
                completed = None if open_case else submitted + timedelta(days=rnd.uniform(0.1, 20))
                pidx = rnd.randrange(PERSONS)
                row = {
                    "number": f"B{cid:012d}",
                    "service_code": CATEGORIES[cat],
                    "definition_version": 1,
                    "category": cat,
                    "state": "in_review" if open_case else "issued",
                    "version": 4 if open_case else 6,
                    "channel": channel,
                    "applicant_id": person_ids[pidx],
                    "applicant_account_id": account_ids[pidx],
                    "submitted_by_id": account_ids[pidx],
                    "agent_name": "",
                    "station_id": station,
                    "form": '{"amount": "100.00"}',
                    "form_secret": "",
                    "amount": None,
                    "delivery_method": "app",
                    "delivery_address_enc": "",
                    "review_level": 1,
                    "required_levels": 1,
                    "open_gaps": 0,
                    "tolerance_due_at": None,
                    "sla_started_at": submitted,
                    "due_at": due,
                    "warning_at": submitted + (due - submitted) * 0.8,
                    "sla_paused_at": None,
                    "sla_flag": "overdue" if open_case and due < now else "normal",
                    "escalated_at": None,
                    "reason_code": "",
                    "reason_text": "",
                    "submitted_at": submitted,
                    "accepted_at": submitted,
                    "completed_at": completed,
                    "outcome": "" if open_case else "issued",
                    "handling_seconds": (
                        None if completed is None else int((completed - submitted).total_seconds())
                    ),
                    "limit_seconds": int((due - submitted).total_seconds()),
                    "on_time": None if completed is None else completed <= due,
                    "rating": None if open_case or rnd.random() < 0.6 else rnd.randint(3, 5),
                    "rating_comment": "",
                    "rated_at": None,
                    "created_at": submitted,
                    "updated_at": completed or submitted,
                }
                cases.append(tuple(row[col] for col in case_cols))
                task = {
                    "case_id": cid,
                    "level": 1,
                    "category": cat,
                    "status": "open" if open_case else "done",
                    "service_code": CATEGORIES[cat],
                    "station_id": station,
                    "due_at": due,
                    "escalated": open_case and due < now,
                    "holder_id": None,
                    "claimed_at": None,
                    "completed_by_id": None,
                    "outcome": "" if open_case else "approved",
                    "version": 1,
                    "created_at": submitted,
                    "completed_at": completed,
                }
                tasks.append(tuple(task[col] for col in task_cols))
            await conn.copy_records_to_table(
                "workflow_case",
                columns=["id", *case_cols],
                records=[(next_case_id + i, *r) for i, r in enumerate(cases)],
            )
            await conn.copy_records_to_table("case_task", columns=task_cols, records=tasks)
            next_case_id += n
            done = offset + n
            if done % 200_000 == 0 or done == total:
                print(f"  loaded {done:>9,} cases  ({time.perf_counter() - started:6.1f} s)")
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('workflow_case', 'id'), $1)", next_case_id
        )
        # What autovacuum does to a table in steady state (visibility map for index-only scans).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


def principal_of(account: Account) -> Principal:
    return Principal(
        account.id, account.role, "bench", account.station_id, tuple(account.categories or ())
    )


async def make_actors(c, concurrency: int) -> tuple[list, Principal, list[Principal]]:
    citizens = []
    for i in range(concurrency):
        person = await find_or_create_person(c, "测试人员", _id_number(i))
        citizens.append(
            principal_of(
                await Account.create(role=Role.CITIZEN, person=person, openid=f"bench-live-{i}")
            )
        )
    desk = principal_of(
        await Account.create(role=Role.REVIEWER, username="bench-desk", categories=["front_desk"])
    )
    reviewers = [
        principal_of(
            await Account.create(
                role=Role.REVIEWER, username=f"bench-rev-{i}", categories=["reimbursement"]
            )
        )
        for i in range(concurrency)
    ]
    return citizens, desk, reviewers


SCAN = io.BytesIO()
Image.new("RGB", (800, 1100), (250, 250, 245)).save(SCAN, "PNG")  # a blank scanned page


async def material(c, citizen: Principal) -> str:
    """A supporting document uploaded by the citizen, as its case reference."""
    row = await materials.upload(c, citizen, SCAN.getvalue())
    return f"{materials.REF_PREFIX}{row.id}"


async def measure_transitions(c, actors, n_cases: int, concurrency: int) -> tuple[float, int]:
    """Full review lifecycles through the service layer: accept, route, claim, approve, issue."""
    citizens, desk, reviewers = actors
    submitted = []
    for i in range(n_cases):  # untimed: each case's materials uploaded as a citizen does
        citizen = citizens[i % concurrency]
        materials: list[Mapping[str, str]] = [
            {"key": key, "file_ref": await material(c, citizen)}
            for key in ("invoice", "medical_record")
        ]
        req = submission.NewCase("test_claim", {"amount": "100.00"}, materials)
        submitted.append(await submission.submit(c, citizen, req))
    transitions = 0

    async def lifecycle(worker: int) -> None:
        nonlocal transitions
        for case in submitted[worker::concurrency]:
            case = await acceptance.accept(c, desk, case.id, version=case.version, outcome="accept")
            task = await CaseTask.get(case_id=case.id, status=TaskStatus.OPEN)
            await review.claim(c, reviewers[worker], task.id)
            case = await review.decide(
                c, reviewers[worker], task.id, case_version=case.version, decision="approve"
            )
            transitions += 4  # accept, route, approve, issue (the claim is a task event)

    started = time.perf_counter()
    await asyncio.gather(*(lifecycle(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    assert await Case.filter(id__in=[x.id for x in submitted], state="issued").count() == n_cases
    return transitions / elapsed, transitions


async def watch_unsealed(c, ages_ms: list[float], stop: asyncio.Event) -> None:
    """Sample the age of the oldest unsealed entry while the sealer runs."""
    while not stop.is_set():
        oldest = await AuditEntry.filter(seq__isnull=True).order_by("id").first()
        ages_ms.append(0.0 if oldest is None else (c.clock.now() - oldest.at).total_seconds() * 1e3)
        await asyncio.sleep(0.1)


async def compare_audit(c, rounds: int, lifecycles: int, concurrency: int) -> dict[str, float]:
    """Alternating rounds: plain insert (no sealer) and the real append (sealer running)."""
    actors = await make_actors(c, concurrency)
    rates: dict[str, list[float]] = {"plain": [], "audit": []}
    ages_ms: list[float] = []
    for r in range(rounds):
        for mode in ("plain", "audit"):
            await seal_all(c)  # start each round with an empty tail (not timed)
            sealer, stop = sealer_loop(c), asyncio.Event()
            watcher = None
            if mode == "audit":
                sealer.start()
                watcher = asyncio.create_task(watch_unsealed(c, ages_ms, stop))
            try:
                tps, count = await measure_transitions(c, actors, lifecycles, concurrency)
            finally:
                stop.set()
                await sealer.stop()
                if watcher is not None:
                    await watcher
            rates[mode].append(tps)
            print(f"  round {r + 1} {mode:5}: {count} transitions, {tps:,.1f}/s")
    await seal_all(c)
    plain, real = statistics.median(rates["plain"]), statistics.median(rates["audit"])
    return {
        "plain": plain,
        "audit": real,
        "ratio": real / plain,
        "max_unsealed_ms": max(ages_ms, default=0.0),
    }


def _id_number(i: int) -> str:
    from backend.identity.idcard import check_character

    first17 = f"330106199001{(i % 28) + 1:02d}{i % 1000:03d}"
    return first17 + check_character(first17)


async def queue_reviewers() -> list[Principal]:
    reviewers = []
    for i, cats in enumerate(
        [["enrollment"], ["reimbursement"], ["remote_care"], ["chronic"], ["enrollment", "chronic"]]
    ):
        acc, _ = await Account.get_or_create(
            username=f"bench-q-{i}", defaults={"role": Role.REVIEWER, "categories": cats}
        )
        reviewers.append(principal_of(acc))
    return reviewers


async def measure_queue(c, reviewers: list[Principal], samples: int) -> list[float]:
    stations = [
        r[0]
        for r in await Case.filter(station_id__not_isnull=True).limit(50).values_list("station_id")
    ]
    rnd = random.Random(11)
    timings = []
    for i in range(samples):
        p = rnd.choice(reviewers)
        actor = access.Actor(p)
        kind = i % 4
        f = queues.QueueFilter(
            category=rnd.choice(p.categories) if kind == 1 else None,
            service_code=CATEGORIES[p.categories[0]] if kind == 2 else None,
            station_id=rnd.choice(stations) if kind == 3 and stations else None,
            overdue_only=i % 5 == 0,
        )
        page = lists.Page(rnd.randint(1, 3), 20)
        started = time.perf_counter()
        result = await queues.reviewer_queue(c, actor, f, page)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.items or f.station_id or f.overdue_only
    return timings


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--lifecycles", type=int, default=320, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="of each mode, alternating")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--queue-samples", type=int, default=400)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--queue-only", action="store_true", help="re-measure the queue on a kept database"
    )
    args = parser.parse_args()
    url = os.environ.get("YIBAO_BENCH_DATABASE_URL", DEFAULT_URL)
    if args.queue_only:
        args.keep = True
    else:
        print(f"database: {urlparse(url).path.lstrip('/')} (recreated)")
        await recreate_database(url)
    settings = Settings(_env_file=None, data_dir=Path("var/bench"), database_url=url)
    c = bootstrap(settings, kv=MemoryStore(SystemClock()))
    register_definitions(c.definitions)
    checks.check_definitions(c.policies, c.definitions, c.hooks)
    try:
        await Tortoise.init(config=db.tortoise_config(url))
        tps, ratio = 0.0, 0.0
        if not args.queue_only:
            await Tortoise.generate_schemas(safe=False)
            print(f"loading {args.cases:,} cases with COPY ...")
            load_s = await load(url, args.cases)
            print(f"load: {load_s:.1f} s ({args.cases / load_s:,.0f} cases/s)")
            print(
                f"transitions: {args.rounds} rounds of {args.lifecycles} lifecycles per mode, "
                f"{args.concurrency} concurrent writers ..."
            )
            cmp = await compare_audit(c, args.rounds, args.lifecycles, args.concurrency)
            tps, ratio = cmp["audit"], cmp["ratio"]
            print(
                f"transitions/s (median): real audit {tps:,.1f}, plain insert "
                f"{cmp['plain']:,.1f}, ratio {ratio:.2f}; oldest unsealed entry seen "
                f"{cmp['max_unsealed_ms']:.0f} ms"
            )
            report = await verify_chain(c)
            assert report.ok and report.unsealed == 0, report.describe()
        args.cases = await Case.all().count()
        reviewers = await queue_reviewers()
        await measure_queue(c, reviewers, 20)  # warm up
        timings = await measure_queue(c, reviewers, args.queue_samples)
        q = statistics.quantiles(timings, n=100)
        p50, p95, p99 = q[49], q[94], q[98]
        print(
            f"reviewer queue: {len(timings)} queries, p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
            f"p99 {p99:.2f} ms, max {max(timings):.2f} ms"
        )
        print(
            f"RESULT cases={args.cases} transitions_per_s={tps:.1f} queue_p95_ms={p95:.2f} "
            f"audit_overhead_ratio={ratio:.2f}"
        )
    finally:
        await Tortoise.close_connections()
        await c.kv.close()
        if not args.keep:
            await drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
