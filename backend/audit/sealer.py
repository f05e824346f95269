"""The audit sealer: chains committed, unsealed audit entries in batches.

One sealer works at a time, whatever the number of processes running the loop: on
PostgreSQL it holds a transaction-level advisory lock (``pg_try_advisory_xact_lock``: a
second sealer does not wait, it skips the round; released by the commit, so nothing is left
on the pooled connection), on SQLite the database's single writer does the same. The head
moves by compare-and-set on its position as well, so even two sealers that both got through
would not fork the chain: one would roll back.

Entries are taken in the order they became visible (their id among the committed, unsealed
ones), given the next contiguous positions, the previous hash and their HMAC, all in one
transaction with the head. Business transactions never touch the head.

Every web worker and every ``yibao worker`` runs :func:`sealer_loop`: a pass every
``audit_seal_interval_s`` (0.25 s), immediately again while batches come back full, so an
entry waits for its seal about the interval plus one batch (well under a second; the bound
``audit_max_unsealed_s``, 5 s, is what ``yibao audit verify`` holds the tail to).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.models import AuditEntry, AuditHead
from backend.audit.service import CHAIN, GENESIS, digest
from backend.infra.loops import RepeatingPass

if TYPE_CHECKING:
    from backend.container import Container

ADVISORY_KEY = 0x59424155  # "YBAU": the one advisory lock the application takes
BATCH = 1000


class HeadMoved(Exception):
    """Another sealer moved the head during this pass: the pass is rolled back."""


async def _ensure_head() -> None:
    if await AuditHead.exists(chain=CHAIN):
        return
    with contextlib.suppress(IntegrityError):
        async with in_transaction():
            await AuditHead.create(chain=CHAIN, seq=0, hash=GENESIS)


async def seal_pending(c: Container, batch: int = BATCH) -> int:
    """Seal up to ``batch`` entries; returns how many (0 when another sealer holds the lock)."""
    await _ensure_head()
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            _, rows = await conn.execute_query(
                "SELECT pg_try_advisory_xact_lock($1) AS got", [ADVISORY_KEY]
            )
            if not rows[0]["got"]:
                return 0
        head = await AuditHead.get(chain=CHAIN)
        entries = await AuditEntry.filter(seq__isnull=True).order_by("id").limit(batch)
        if not entries:
            return 0
        seq, prev = head.seq, head.hash
        for entry in entries:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = digest(c.keys.audit_key, entry)
        await AuditEntry.bulk_update(entries, fields=["seq", "prev_hash", "hash"])
        moved = await AuditHead.filter(chain=CHAIN, seq=head.seq).update(seq=seq, hash=prev)
        if moved != 1:
            raise HeadMoved
    return len(entries)


async def seal_all(c: Container) -> int:
    """Seal everything committed so far (CLI commands and tests, before verifying)."""
    total = 0
    while n := await seal_pending(c):
        total += n
    return total


async def seal_pass(c: Container) -> bool:
    """One pass of the background sealer; True when a full batch was sealed (more may wait).
    An idle pass is one indexed read, not a transaction."""
    if not await AuditEntry.filter(seq__isnull=True).exists():
        return False
    try:
        return await seal_pending(c) >= BATCH
    except HeadMoved:
        return False


def sealer_loop(c: Container) -> RepeatingPass:
    """The sealer every web and job worker runs (one seals at a time)."""
    return RepeatingPass("audit-sealer", lambda: seal_pass(c), c.settings.audit_seal_interval_s)
