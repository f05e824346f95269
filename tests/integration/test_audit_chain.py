"""The audit log is append-only and HMAC-chained: a changed, deleted or appended entry is
detected by ``verify_chain`` and by ``yibao audit verify`` (non-zero exit)."""

from __future__ import annotations

import os
import subprocess
import sys

from tortoise.connection import get_connection

from backend.audit.models import AuditEntry
from backend.audit.service import record, verify_chain
from backend.identity.models import Role
from backend.identity.principal import Principal

ACTOR = Principal(account_id=7, role=Role.REVIEWER, session="s")


async def append(c, n: int = 5) -> None:
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
