"""The durable terminal replay guard: every spent request nonce is a row of ``terminal_nonce``
(unique key ``<key id>:<nonce>``), written through this process's group-commit batcher, so a
replay is refused even after Redis lost everything. Redis stays the fast first check
(``PendingNonce``); the database is the source of truth.

A nonce is kept while its request could still be accepted: until its signed timestamp is
``terminal_max_skew_s`` old (``expires_at``). ``clean_expired`` deletes the rest (the periodic
job ``clean_terminal_nonces``). The e-voucher verification writes its nonce in the same
statement as its use record (``backend.vouchers.use_log``); other requests through
:func:`record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.container import Container
from backend.errors import Unauthorized
from backend.terminals.models import TerminalNonce

BATCHER = "terminal_nonce"


@dataclass(frozen=True)
class NonceRecord:
    key: str  # "<key id>:<nonce>"
    expires_at: datetime


def nonce_record(key_id: str, nonce: str, timestamp: int, skew_s: int) -> NonceRecord:
    return NonceRecord(f"{key_id}:{nonce}", datetime.fromtimestamp(timestamp + skew_s, UTC))


def nonce_replayed() -> Unauthorized:
    return Unauthorized("重复的请求，已拒绝", code="TERMINAL_NONCE_REPLAYED")


def first_of_each(keys: Sequence[str]) -> list[bool]:
    """For each key, whether it is the first of its value in ``keys`` (later ones are replays
    within one batch: the statement must see each key once)."""
    seen: set[str] = set()
    first = []
    for key in keys:
        first.append(key not in seen)
        seen.add(key)
    return first


_PG_INSERT = (
    "INSERT INTO terminal_nonce (key, expires_at)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[])"
    " ON CONFLICT DO NOTHING RETURNING key"
)


async def _flush(records: Sequence[NonceRecord]) -> list[bool | BaseException]:
    """One batch in one transaction: True for a nonce spent now, a replay error otherwise."""
    first = first_of_each([r.key for r in records])
    unique = [r for r, f in zip(records, first, strict=True) if f]
    conn = TerminalNonce._meta.db
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as pg:
            rows = await pg.fetch(
                _PG_INSERT, [r.key for r in unique], [r.expires_at for r in unique]
            )
        spent = {row["key"] for row in rows}
    else:
        spent = set()
        async with in_transaction() as tx:
            for r in unique:
                try:
                    await TerminalNonce.create(key=r.key, expires_at=r.expires_at, using_db=tx)
                except IntegrityError:
                    continue
                spent.add(r.key)
    return [
        True if f and r.key in spent else nonce_replayed()
        for r, f in zip(records, first, strict=True)
    ]


async def record(c: Container, nonce: NonceRecord) -> None:
    """Spend ``nonce`` durably (with the other requests of this moment); a replay is refused."""
    await c.group_commit(BATCHER, _flush).submit(nonce)


async def clean_expired(c: Container) -> int:
    """Delete the nonces whose requests are too old to be accepted anyway."""
    return await TerminalNonce.filter(expires_at__lt=c.clock.now()).delete()
