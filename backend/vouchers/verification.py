"""Terminal side: verify a presented code online, or take offline uses reported later.

Online (``verify_online``), in order, each refusal a 4xx with a stable code:
purpose code known → code length cap, shape, ``alg`` ES256, key id known and published →
signature → key signing window → not expired / not from the future (injected clock, skew
allowance) → voucher not known revoked → the use is recorded with the request's nonce
(``use_log``, group commit: one statement and one commit with the other verifications of the
moment) → cross-city alert check. The answer: the masked person, insurance type and this year's
status, active benefits.

The write decides, and nothing is asked before it: the unique (voucher, nonce) row is the code's
single use (two terminals racing with one code: one row, one success, the other 409; Redis is not
asked, so its loss changes nothing), the nonce row in the same statement is the request's replay
guard (a replayed nonce records nothing, so it does not spend the code), and the use is inserted
only if the voucher is active at that moment. A batch that fails records nothing and answers
``VOUCHER_USE_NOT_RECORDED``; the terminal may send the same request again. The answer waits for
the commit.

The voucher's state comes from the per-process cache (``c.cache``, invalidated in every process on
revocation and re-activation) when it is there, so a known-revoked voucher is refused at once; it
is never loaded on this path. After the commit, for the whole batch at once and in one
statement: the voucher, its masked person, the person's enrollment for the year, the chronic
qualifications and remote-care filings covering today, and the cross-city look-around
(``lookup.verification_facts``); the voucher's state read there fills the cache. So nothing
that decides insured or not, covered or not, or whether the voucher may be used is ever stale.
Only the masked name, ID number and gender shown come from the cache when it holds the voucher:
after a change to the person record they may be up to the cache's TTL (30 s) old.
Offline reports read the voucher's state through the same cache.

Offline (``report_offline``): each entry is verified like a live code, but its expiry is checked
against the reported ``used_at`` and any key still in the key file may have signed it. Each code
is recorded once; a code already recorded is that entry's conflict. A terminal re-sending its
own report gets "recorded" again (``duplicate``), so retries are safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.clock import local_date, local_today
from backend.container import Container
from backend.enrollment.models import EnrollmentStatus
from backend.enrollment.service import status_from
from backend.errors import DomainError
from backend.identity.models import Person
from backend.identity.persons import masked_person_view, person_view
from backend.terminals.service import PendingNonce, TerminalIdentity
from backend.vouchers import alerts, errors
from backend.vouchers.codes import (
    CodeClaims,
    check_live,
    check_used_at,
    key_for,
    parse_code,
    verify_signature,
)
from backend.vouchers.keys import VoucherKeyRing, keyring_for, retention_s
from backend.vouchers.keyset import VoucherKey
from backend.vouchers.lookup import VerificationFacts
from backend.vouchers.models import UseMode, Voucher, VoucherStatus, VoucherUse
from backend.vouchers.service import state_key, use_view
from backend.vouchers.use_log import Recorded, UseRequest, UseRow, record_use
from config.policy import VoucherPolicy

log = logging.getLogger("yibao.vouchers")

STATUS_NAMES = {
    EnrollmentStatus.ENROLLED: "参保缴费正常",
    EnrollmentStatus.PENDING_PAYMENT: "待缴费",
    EnrollmentStatus.NOT_ENROLLED: "未参保",
    EnrollmentStatus.LAPSED: "已断保",
}


@dataclass(frozen=True)
class VoucherState:
    """What verification needs of a voucher; cached, so only masked data."""

    id: str
    status: VoucherStatus
    person_id: int
    holder_id: int
    revoked_at: datetime | None
    person: dict[str, object]  # person_view: masked


async def voucher_state(c: Container, voucher_id: str) -> VoucherState | None:
    async def load() -> VoucherState | None:
        voucher = await Voucher.filter(id=voucher_id).select_related("person").first()
        if voucher is None:
            return None
        person: Person = voucher.person
        return VoucherState(
            id=voucher.id,
            status=VoucherStatus(voucher.status),
            person_id=person.id,
            holder_id=voucher.holder_id,
            revoked_at=voucher.revoked_at,
            person=person_view(c, person),
        )

    return await c.cache.get_or_load(state_key(voucher_id), load)


def _policy(c: Container, today: date | None = None) -> VoucherPolicy:
    return c.policies.voucher.at(today or local_today(c.clock))


def _check_purpose(policy: VoucherPolicy, purpose: str) -> None:
    if purpose not in policy.purposes:
        raise errors.PurposeUnknown(purpose=purpose[:8])


def _live_key(c: Container, ring: VoucherKeyRing, kid: str, now: datetime) -> VoucherKey:
    """A key published now; an unknown kid first makes the ring look for a rotated file."""
    retention = retention_s(c.settings)
    key = key_for(ring.keys, kid)
    if key is None and ring.reload_if_changed():
        key = key_for(ring.keys, kid)
    if key is None or not key.published_at(now, retention):
        raise errors.CodeKeyUnknown()
    return key


def _any_key(ring: VoucherKeyRing, kid: str) -> VoucherKey:
    key = key_for(ring.keys, kid)
    if key is None and ring.reload_if_changed():
        key = key_for(ring.keys, kid)
    if key is None:
        raise errors.CodeKeyUnknown()
    return key


def _new_use(
    claims: CodeClaims,
    state: VoucherState,
    terminal: TerminalIdentity,
    purpose: str,
    mode: UseMode,
    used_at: datetime,
    now: datetime,
) -> VoucherUse:
    return VoucherUse(
        voucher_id=claims.voucher_id,
        person_id=state.person_id,
        nonce=claims.nonce,
        terminal_key_id=terminal.key_id,
        institution_code=terminal.institution_code,
        institution_name=terminal.institution_name,
        city_code=terminal.city_code,
        purpose=purpose,
        mode=mode,
        used_at=used_at,
        recorded_at=now,
    )


async def _insert(use: VoucherUse) -> None:
    """Save a new use (the ORM; a duplicate (voucher, nonce) is an IntegrityError)."""
    await use.save()


async def verify_online(
    c: Container,
    terminal: TerminalIdentity,
    *,
    code: str,
    purpose: str,
    nonce: PendingNonce | None = None,
) -> dict[str, Any]:
    """``nonce``: the terminal request's nonce when the caller left it unspent (written here with
    the use; the caller spends it on every refusal raised before that)."""
    now = c.clock.now()  # one reading for the whole verification: the use's time, today
    today = local_date(now)
    policy = _policy(c, today)
    _check_purpose(policy, purpose)
    claims = _live_claims(c, code, now)

    # The voucher's state from the per-process cache when it is there (invalidated in every
    # process on revocation and re-activation): a revoked voucher is refused at once. Never
    # loaded here: whether the voucher is active is decided by the write itself, and the rest
    # is read with the batch.
    key = state_key(claims.voucher_id)
    epoch = c.cache.epoch
    state: VoucherState | None = c.cache.peek(key)
    if state is not None and state.status != VoucherStatus.ACTIVE:
        raise errors.VoucherRevoked()
    pending = None
    if nonce is not None and not nonce.spent:
        # Written with the use; a failed batch writes neither (the request may be sent again).
        nonce.spent = True
        pending = nonce.record
    window = timedelta(minutes=policy.cross_city_window_minutes)
    recorded = await _recorded(
        c,
        UseRequest(
            claims.voucher_id,
            claims.nonce,
            terminal,
            purpose,
            now,
            today.year,
            today,
            window,
            pending,
        ),
    )
    facts = recorded.facts
    if state is None:
        state = _state(c, facts)
        c.cache.put(key, state, read_at_epoch=epoch)
    if facts.other_city_use_id is not None:
        await alerts.raise_alert(
            c,
            recorded.use,
            facts.other_city_use_id,
            holder_id=facts.holder_id,
            minutes=policy.cross_city_window_minutes,
        )
    return _answer(c, policy, today.year, state, facts, recorded.use)


def _live_claims(c: Container, code: str, now: datetime) -> CodeClaims:
    """The code's claims once its shape, key, signature and validity window are checked."""
    skew = c.settings.voucher_clock_skew_s
    parsed = parse_code(code)
    claims = verify_signature(_live_key(c, keyring_for(c.settings), parsed.kid, now), parsed, skew)
    check_live(claims, now.timestamp(), skew)
    return claims


async def _recorded(c: Container, request: UseRequest) -> Recorded:
    """The use written with its batch; a failure of the batch is this request's 503
    ``VOUCHER_USE_NOT_RECORDED`` (nothing of the batch was recorded: the terminal may retry)."""
    try:
        return await record_use(c, request)
    except DomainError:  # this request's own refusal: code used, nonce replayed, revoked
        raise
    except Exception as exc:  # the batch failed: nothing of it was recorded
        log.warning("voucher use not recorded: %r", exc)
        raise errors.UseNotRecorded() from exc


def _answer(
    c: Container,
    policy: VoucherPolicy,
    year: int,
    state: VoucherState,
    facts: VerificationFacts,
    use: UseRow,
) -> dict[str, Any]:
    current = EnrollmentStatus(facts.enrollment_status) if facts.enrollment_status else None
    status = status_from(c, year, current, enrolled_year_before=facts.enrolled_year_before)
    return {
        "voucher_id": state.id,
        "family": state.person_id != state.holder_id,
        "person": state.person,
        "insurance": {
            "type_code": policy.insurance_type_code,
            "type_name": policy.insurance_type_name,
            "year": year,
            "status": status.value,
            "status_name": STATUS_NAMES[status],
            "covered_today": status is EnrollmentStatus.ENROLLED,
        },
        "chronic_qualifications": facts.chronic_qualifications,
        "remote_care_filings": facts.remote_care_filings,
        "use": use_view(c, use, policy),
    }


def _state(c: Container, facts: VerificationFacts) -> VoucherState:
    return VoucherState(
        id=facts.voucher_id,
        status=VoucherStatus(facts.voucher_status),
        person_id=facts.person_id,
        holder_id=facts.holder_id,
        revoked_at=facts.revoked_at,
        person=masked_person_view(c, **facts.person),
    )


@dataclass(frozen=True)
class OfflineUse:
    code: str
    used_at: datetime  # timezone-aware
    purpose: str


async def _report_one(
    c: Container,
    ring: VoucherKeyRing,
    policy: VoucherPolicy,
    terminal: TerminalIdentity,
    entry: OfflineUse,
    now: datetime,
) -> dict[str, Any]:
    skew = c.settings.voucher_clock_skew_s
    _check_purpose(policy, entry.purpose)
    used_ts = entry.used_at.timestamp()
    if used_ts > now.timestamp() + skew:
        raise errors.UseTimeInvalid()
    if now - entry.used_at > timedelta(hours=policy.offline_report_max_hours):
        raise errors.ReportTooLate(max_hours=policy.offline_report_max_hours)
    parsed = parse_code(entry.code)
    claims = verify_signature(_any_key(ring, parsed.kid), parsed, skew)
    check_used_at(claims, used_ts, skew)
    state = await voucher_state(c, claims.voucher_id)
    if state is None:
        raise errors.VoucherNotFound()
    if state.revoked_at is not None and state.revoked_at <= entry.used_at:
        raise errors.VoucherRevoked()

    use = _new_use(claims, state, terminal, entry.purpose, UseMode.OFFLINE, entry.used_at, now)
    try:
        await _insert(use)
    except IntegrityError:
        existing = await VoucherUse.get(voucher_id=claims.voucher_id, nonce=claims.nonce)
        if (
            existing.terminal_key_id == terminal.key_id
            and existing.mode == UseMode.OFFLINE
            and existing.used_at == entry.used_at
        ):
            return {"status": "recorded", "duplicate": True, "use": use_view(c, existing)}
        error = errors.CodeUsed()
        return {"status": "conflict", "error": {"code": error.code, "message": error.message}}
    await alerts.check_cross_city(c, use, holder_id=state.holder_id)
    return {"status": "recorded", "duplicate": False, "use": use_view(c, use)}


async def report_offline(
    c: Container, terminal: TerminalIdentity, entries: list[OfflineUse]
) -> dict[str, Any]:
    policy = _policy(c)
    if len(entries) > policy.offline_batch_max:
        raise errors.CodeRefused(
            f"一次最多上报 {policy.offline_batch_max} 条使用记录",
            code="VOUCHER_BATCH_TOO_LARGE",
            max_entries=policy.offline_batch_max,
        )
    ring = keyring_for(c.settings)
    now = c.clock.now()
    results = []
    for index, entry in enumerate(entries):
        try:
            outcome = await _report_one(c, ring, policy, terminal, entry, now)
        except DomainError as exc:
            outcome = {"status": "refused", "error": {"code": exc.code, "message": exc.message}}
        results.append({"index": index, **outcome})
    counts = {
        s: sum(r["status"] == s for r in results) for s in ("recorded", "conflict", "refused")
    }
    return {"results": results, **counts}
