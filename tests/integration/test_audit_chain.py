"""The audit log is append-only and HMAC-chained: a changed, deleted or appended sealed entry
is detected by ``verify_chain`` and by ``yibao audit verify`` (non-zero exit). Entries are
appended without a lock and sealed afterwards; the unsealed tail is reported with its age."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from backend.audit.models import AuditEntry, AuditHead
from backend.audit.sealer import seal_all, seal_pending
from backend.audit.service import record, verify_chain
from backend.identity.models import Role
from backend.identity.principal import Principal

ACTOR = Principal(account_id=7, role=Role.REVIEWER, session="s")


async def append(c, n: int = 5, *, seal: bool = True) -> None:
    for i in range(1, n + 1):
        await record(
            c,
            actor=ACTOR,
            action="test.decision",
            subject_type="case",
            subject_id=f"C{i}",
            reason="材料齐全，予以通过",
            data={"amount_fen": 1000 * i, "note": "中文"},
        )
    if seal:
        await seal_all(c)


async def sql(statement: str) -> None:
    await get_connection("default").execute_script(statement)


def cli_verify(stack) -> subprocess.CompletedProcess[str]:
    """``yibao audit verify`` in its own process, pointed at this test stack."""
    settings = stack.container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env |= {
        "YIBAO_DATABASE_URL": settings.resolved_database_url,
        "YIBAO_DATA_DIR": str(settings.data_dir),  # the same (development) audit key
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "audit", "verify"],
        cwd=settings.data_dir,  # no stray .env
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_intact_chain_verifies(c):
    assert (await verify_chain(c)).ok  # an empty log is intact
    await append(c)
    report = await verify_chain(c)
    assert report.ok and report.checked == 5
    assert "完整" in report.describe()


async def test_changed_data_is_detected(c):
    await append(c)
    await sql("""UPDATE audit_entry SET data = '{"amount_fen": 1, "note": "中文"}' WHERE seq = 3""")
    report = await verify_chain(c)
    assert not report.ok
    assert report.seq == 3 and report.checked == 2
    assert "修改" in report.problem


async def test_changed_reason_or_actor_is_detected(c):
    await append(c)
    await sql("UPDATE audit_entry SET reason = '不予通过' WHERE seq = 2")
    assert (await verify_chain(c)).seq == 2
    await sql("UPDATE audit_entry SET reason = '材料齐全，予以通过' WHERE seq = 2")
    assert (await verify_chain(c)).ok  # restored exactly: the chain checks out again
    await sql("UPDATE audit_entry SET actor_id = 8 WHERE seq = 4")
    assert (await verify_chain(c)).seq == 4


async def test_deleted_middle_entry_is_detected(c):
    await append(c)
    await sql("DELETE FROM audit_entry WHERE seq = 3")
    report = await verify_chain(c)
    assert not report.ok
    assert report.seq == 3 and "缺失" in report.problem


async def test_deleted_first_entry_is_detected(c):
    await append(c)
    await sql("DELETE FROM audit_entry WHERE seq = 1")
    report = await verify_chain(c)
    assert not report.ok and report.seq == 1


async def test_deleted_last_entry_is_detected(c):
    await append(c)
    await sql("DELETE FROM audit_entry WHERE seq = 5")
    report = await verify_chain(c)
    assert not report.ok
    assert report.checked == 4 and "链尾" in report.problem


async def test_renumbered_chain_is_detected(c):
    # Delete the middle entry and renumber the rest to close the gap.
    await append(c)
    await sql("DELETE FROM audit_entry WHERE seq = 3")
    await sql("UPDATE audit_entry SET seq = 3 WHERE seq = 4")
    await sql("UPDATE audit_entry SET seq = 4 WHERE seq = 5")
    await sql("UPDATE audit_head SET seq = 4")
    report = await verify_chain(c)
    assert not report.ok and report.seq == 3


async def test_forged_appended_entry_is_detected(c):
    await append(c, 2)
    last = await AuditEntry.get(seq=2)
    await AuditEntry.create(
        seq=3,
        at=last.at,
        actor_id=1,
        actor_role="admin",
        action="test.decision",
        subject_type="case",
        subject_id="C9",
        data={},
        prev_hash=last.hash,
        hash="0" * 64,
    )
    report = await verify_chain(c)
    assert not report.ok and report.seq == 3


async def test_appending_after_verification_keeps_the_chain(c):
    await append(c, 3)
    assert (await verify_chain(c)).ok
    await append(c, 2)
    assert (await verify_chain(c, batch=2)).checked == 5  # across batch boundaries too


async def test_cli_exit_code_reflects_the_chain(c, stack):
    await append(c)
    intact = cli_verify(stack)
    assert intact.returncode == 0, intact.stderr
    assert "审计链完整" in intact.stdout

    await sql("UPDATE audit_entry SET subject_id = 'C99' WHERE seq = 2")
    broken = cli_verify(stack)
    assert broken.returncode == 1, broken.stderr
    assert "审计链被破坏" in broken.stdout and "第 2 条" in broken.stdout


async def test_entries_wait_unsealed_until_the_sealer_chains_them(c):
    await append(c, 3, seal=False)
    assert await AuditEntry.filter(seq__isnull=True).count() == 3
    report = await verify_chain(c)
    assert report.ok and report.checked == 0 and report.unsealed == 3
    assert "未封存 3 条" in report.describe()
    assert await seal_pending(c, batch=2) == 2  # in batches, oldest first
    assert await seal_pending(c, batch=2) == 1
    assert await seal_pending(c) == 0
    seqs = await AuditEntry.all().order_by("id").values_list("seq", flat=True)
    assert seqs == [1, 2, 3]
    report = await verify_chain(c)
    assert report.ok and report.checked == 3 and report.unsealed == 0


async def test_an_unsealed_tail_older_than_the_bound_is_reported(c, clock):
    bound = c.settings.audit_max_unsealed_s
    await append(c, 2)
    await append(c, 1, seal=False)
    clock.advance(seconds=bound / 2)
    assert not (await verify_chain(c)).tail_stale  # within the bound
    clock.advance(seconds=bound)
    report = await verify_chain(c)
    assert report.ok and report.tail_stale  # the sealed chain is fine, the sealer is not
    assert "封存进程可能未运行" in report.describe()
    await seal_all(c)
    report = await verify_chain(c)
    assert report.ok and not report.tail_stale and report.checked == 3


async def test_a_rolled_back_change_leaves_no_entry(c):
    class Boom(Exception):
        pass

    try:
        async with in_transaction():
            await record(c, actor=ACTOR, action="test.x", subject_type="case", subject_id="C1")
            raise Boom
    except Boom:
        pass
    assert await seal_all(c) == 0
    assert (await verify_chain(c)).checked == 0


async def test_cli_reports_a_stale_tail_with_exit_code_1(c, stack, clock):
    await append(c, 1, seal=False)
    await AuditEntry.all().update(at=clock.now() - timedelta(minutes=5))
    stale = cli_verify(stack)
    assert stale.returncode == 1, stale.stderr
    assert "未封存 1 条" in stale.stdout


async def test_concurrent_writers_and_sealers_build_one_contiguous_chain(c, on_postgres):
    """40 writers append in their own transactions while three sealers run: nobody waits on a
    head row, the chain is contiguous and every entry is in it exactly once."""
    writers, per_writer = 40, 5
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with in_transaction():
                await record(
                    c, actor=ACTOR, action="test.w", subject_type="case", subject_id=f"W{w}-{i}"
                )

    async def sealer() -> None:
        while not done.is_set():
            await seal_pending(c, batch=7)
            await asyncio.sleep(0)

    sealers = [asyncio.create_task(sealer()) for _ in range(3)]
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await asyncio.gather(*sealers)
    await seal_all(c)
    report = await verify_chain(c)
    assert report.ok and report.checked == writers * per_writer and report.unsealed == 0
    head = await AuditHead.get()
    assert head.seq == writers * per_writer
    subjects = await AuditEntry.all().values_list("subject_id", flat=True)
    assert len(set(subjects)) == writers * per_writer
