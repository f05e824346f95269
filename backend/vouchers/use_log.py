"""Online uses are recorded in groups: the verifications arriving together share one statement
and one commit (``backend.infra.group_commit``, batcher ``voucher_use``).

A batch, on PostgreSQL, is one round trip for the write and one for what the answers need:

1. ONE statement, hence one transaction and one commit: spend every request's terminal nonce
   (``terminal_nonce``, the durable replay guard) and insert every use whose nonce was new and
   whose voucher is active at that moment (``INSERT ... SELECT ... ON CONFLICT DO NOTHING
   RETURNING``). Each verification gets its own outcome: its use, or a replayed nonce, or a
   code already used (the unique (voucher, nonce) key), or a voucher revoked. A failing
   statement records nothing of the batch and fails every verification in it. Rows go in key
   order, so two batches sharing keys (a replay racing its original, two terminals with one
   code) wait for each other rather than deadlock.
2. After the commit, for the whole batch, ONE statement: the vouchers, their masked persons,
   the insurance status and benefits, and the cross-city look-around
   (``lookup.verification_facts``; the look-around after the commit, so of two uses racing in
   two cities at least one sees the other).

On SQLite (the embedded default) the same, row by row in one transaction, through the ORM.
Nothing is answered before the batch is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.container import Container
from backend.infra.group_commit import GroupCommit
from backend.terminals.models import TerminalNonce
from backend.terminals.nonces import NonceRecord, first_of_each, nonce_replayed
from backend.terminals.service import TerminalIdentity
from backend.vouchers import errors
from backend.vouchers.lookup import FactsQuery, VerificationFacts, verification_facts
from backend.vouchers.models import UseMode, Voucher, VoucherStatus, VoucherUse

BATCHER = "voucher_use"
ONLINE = UseMode.ONLINE.value
ACTIVE = VoucherStatus.ACTIVE.value


class UseRequest(NamedTuple):
    """One verification's write: its code's use, and its request's nonce when unspent."""

    voucher_id: str
    nonce: str  # the code's jti
    terminal: TerminalIdentity
    purpose: str
    used_at: datetime
    year: int  # of the insurance status to read
    day: date  # of the benefits to read
    window: timedelta  # the cross-city look-around
    terminal_nonce: NonceRecord | None


class UseRow(NamedTuple):
    """A recorded use, as ``use_view`` and ``alerts.raise_alert`` read it."""

    id: int
    voucher_id: str
    person_id: int
    used_at: datetime
    terminal_key_id: str
    institution_code: str
    institution_name: str
    city_code: str
    purpose: str
    mode: str


class Recorded(NamedTuple):
    use: UseRow
    facts: VerificationFacts  # read after the commit, with the cross-city look-around


_PG_WRITE = (
    "WITH i AS (SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::text[],"
    " $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
    " $11::timestamptz[], $12::bool[]) AS t(n, nonce_key, nonce_expires, voucher_id, nonce,"
    " terminal_key_id, institution_code, institution_name, city_code, purpose, used_at,"
    " first_use)),"
    " spent AS (INSERT INTO terminal_nonce (key, expires_at)"
    " SELECT nonce_key, nonce_expires FROM i WHERE nonce_key IS NOT NULL ORDER BY nonce_key"
    " ON CONFLICT DO NOTHING RETURNING key),"
    " used AS (INSERT INTO voucher_use (voucher_id, person_id, nonce, terminal_key_id,"
    " institution_code, institution_name, city_code, purpose, mode, used_at, recorded_at)"
    " SELECT i.voucher_id, v.person_id, i.nonce, i.terminal_key_id, i.institution_code,"
    " i.institution_name, i.city_code, i.purpose, $13, i.used_at, i.used_at"
    " FROM i JOIN voucher v ON v.id = i.voucher_id AND v.status = $14"
    " WHERE i.first_use AND (i.nonce_key IS NULL"
    " OR EXISTS (SELECT 1 FROM spent WHERE spent.key = i.nonce_key))"
    " ORDER BY i.voucher_id, i.nonce ON CONFLICT DO NOTHING"
    " RETURNING id, voucher_id, nonce, person_id)"
    " SELECT (i.nonce_key IS NULL OR spent.key IS NOT NULL) AS nonce_ok, used.id,"
    " v.person_id, v.holder_id, v.status"
    " FROM i LEFT JOIN spent ON spent.key = i.nonce_key"
    " LEFT JOIN used ON i.first_use AND used.voucher_id = i.voucher_id AND used.nonce = i.nonce"
    " LEFT JOIN voucher v ON v.id = i.voucher_id ORDER BY i.n"
)


class _Written(NamedTuple):
    """What the write said of one request: nonce new, use id (None: not inserted), voucher."""

    nonce_ok: bool
    use_id: int | None
    person_id: int | None
    holder_id: int | None
    voucher_status: str | None


def _first_uses(requests: Sequence[UseRequest]) -> list[bool]:
    """Within a batch, a code scanned twice is recorded for the first request only."""
    return first_of_each([f"{r.voucher_id}.{r.nonce}" for r in requests])


async def _write_pg(pg: Any, requests: Sequence[UseRequest]) -> list[_Written]:
    first = _first_uses(requests)
    rows = await pg.fetch(
        _PG_WRITE,
        list(range(len(requests))),
        [r.terminal_nonce.key if r.terminal_nonce else None for r in requests],
        [r.terminal_nonce.expires_at if r.terminal_nonce else None for r in requests],
        [r.voucher_id for r in requests],
        [r.nonce for r in requests],
        [r.terminal.key_id for r in requests],
        [r.terminal.institution_code for r in requests],
        [r.terminal.institution_name for r in requests],
        [r.terminal.city_code for r in requests],
        [r.purpose for r in requests],
        [r.used_at for r in requests],
        first,
        ONLINE,
        ACTIVE,
    )
    return [_Written(*row) for row in rows]  # the statement's columns are _Written's


async def _write_portable(requests: Sequence[UseRequest]) -> list[_Written]:
    first = _first_uses(requests)
    written = []
    async with in_transaction() as tx:
        for request, first_use in zip(requests, first, strict=True):
            voucher = await Voucher.get_or_none(id=request.voucher_id, using_db=tx)
            if request.terminal_nonce is not None:
                try:
                    await TerminalNonce.create(
                        key=request.terminal_nonce.key,
                        expires_at=request.terminal_nonce.expires_at,
                        using_db=tx,
                    )
                except IntegrityError:
                    written.append(_Written(False, None, None, None, None))
                    continue
            if voucher is None:
                written.append(_Written(True, None, None, None, None))
                continue
            use_id = None
            if first_use and voucher.status == ACTIVE:
                try:
                    use = await VoucherUse.create(
                        voucher_id=request.voucher_id,
                        person_id=voucher.person_id,
                        nonce=request.nonce,
                        terminal_key_id=request.terminal.key_id,
                        institution_code=request.terminal.institution_code,
                        institution_name=request.terminal.institution_name,
                        city_code=request.terminal.city_code,
                        purpose=request.purpose,
                        mode=UseMode.ONLINE,
                        used_at=request.used_at,
                        recorded_at=request.used_at,
                        using_db=tx,
                    )
                    use_id = use.id
                except IntegrityError:
                    pass
            written.append(
                _Written(
                    True,
                    use_id,
                    voucher.person_id,
                    voucher.holder_id,
                    voucher.status,
                )
            )
    return written


def _refusal(w: _Written) -> BaseException:
    if not w.nonce_ok:
        return nonce_replayed()
    if w.voucher_status is None:
        return errors.VoucherNotFound()
    if w.voucher_status != ACTIVE:
        return errors.VoucherRevoked()
    return errors.CodeUsed()


def _row(r: UseRequest, use_id: int, person_id: int) -> UseRow:
    t = r.terminal
    return UseRow(
        use_id,
        r.voucher_id,
        person_id,
        r.used_at,
        t.key_id,
        t.institution_code,
        t.institution_name,
        t.city_code,
        r.purpose,
        ONLINE,
    )


async def _flush(requests: Sequence[UseRequest]) -> list[Recorded | BaseException]:
    conn = VoucherUse._meta.db
    on_pg = conn.capabilities.dialect == "postgres"
    async with conn.acquire_connection() if on_pg else nullcontext() as pg:
        written = await (_write_pg(pg, requests) if on_pg else _write_portable(requests))
        # Committed. From here on, one read for the whole batch.
        done = [
            (r, _row(r, w.use_id, w.person_id))  # type: ignore[arg-type]
            for r, w in zip(requests, written, strict=True)
            if w.use_id is not None
        ]
        facts = await verification_facts([_facts_query(r) for r, _ in done], pg)
    recorded = iter(
        errors.VoucherNotFound() if f is None else Recorded(u, f)  # deleted meanwhile
        for (_, u), f in zip(done, facts, strict=True)
    )
    return [_refusal(w) if w.use_id is None else next(recorded) for w in written]


def _facts_query(r: UseRequest) -> FactsQuery:
    """What the answer needs, and the use's cross-city look-around."""
    return FactsQuery(
        r.voucher_id,
        r.year,
        r.day,
        r.used_at - r.window,
        r.used_at + r.window,
        r.terminal.city_code,
    )


def batcher(c: Container, **options: Any) -> GroupCommit[UseRequest, Recorded]:
    """This process's batcher of online uses (``options`` of ``GroupCommit`` on first use)."""
    return c.group_commit(BATCHER, _flush, **options)


async def record_use(c: Container, request: UseRequest) -> Recorded:
    """Record one online use with the others of this moment; its own outcome once committed
    (a refusal is raised: replayed nonce, code used, voucher revoked or missing)."""
    return await batcher(c).submit(request)
