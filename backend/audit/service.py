"""The append-only audit log: every login, binding, staff read of another person's data and
decision, chained with HMAC-SHA256 so that a changed, inserted or deleted entry is detected.

The chain uses a key kept outside the database: someone able to write to the database cannot
recompute a valid chain after editing it. Appends lock the one head row, so concurrent writers
take turns and the chain never forks; call :func:`record` inside the transaction of the change
it records, so the decision and its audit entry commit or fail together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.models import AuditEntry, AuditHead
from backend.container import Container
from backend.identity.principal import Principal

GENESIS = "0" * 64
_CHAIN = "audit"


def _digest(key: bytes, entry: AuditEntry) -> str:
    canonical = json.dumps(
        [
            entry.seq,
            entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            entry.actor_id,
            entry.actor_role,
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.reason,
            entry.data,
            entry.prev_hash,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


async def _locked_head() -> AuditHead:
    head = await AuditHead.select_for_update().get_or_none(chain=_CHAIN)
    if head is not None:
        return head
    try:
        async with in_transaction():
            await AuditHead.create(chain=_CHAIN, seq=0, hash=GENESIS)
    except IntegrityError:
        pass  # another writer created it first
    return await AuditHead.select_for_update().get(chain=_CHAIN)


async def record(
    c: Container,
    *,
    actor: Principal | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_role: str | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` None means the system (sweeper, callback) or ``actor_role``."""
    async with in_transaction():
        head = await _locked_head()
        entry = AuditEntry(
            seq=head.seq + 1,
            at=c.clock.now(),
            actor_id=actor.account_id if actor else None,
            actor_role=actor.role.value if actor else (actor_role or "system"),
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            reason=reason[:500],
            data=data or {},
            prev_hash=head.hash,
        )
        entry.hash = _digest(c.keys.audit_key, entry)
        await entry.save(force_create=True)
        head.seq, head.hash = entry.seq, entry.hash
        await head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""
    seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return f"审计链完整：共校验 {self.checked} 条记录"
        return f"审计链被破坏：第 {self.seq} 条，{self.problem}（已校验 {self.checked} 条）"


async def verify_chain(c: Container, batch: int = 2000) -> ChainReport:
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    while True:
        rows = await AuditEntry.filter(seq__gte=expected_seq).order_by("seq").limit(batch)
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(False, checked, "记录缺失（序号不连续）", expected_seq)
            if entry.prev_hash != prev_hash:
                return ChainReport(False, checked, "与前一条记录的链接不符", entry.seq)
            if not hmac.compare_digest(entry.hash, _digest(c.keys.audit_key, entry)):
                return ChainReport(False, checked, "内容被修改", entry.seq)
            prev_hash, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    head = await AuditHead.get_or_none(chain=_CHAIN)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != checked or head_hash != prev_hash:
        return ChainReport(False, checked, "链尾记录缺失或被替换", checked + 1)
    return ChainReport(True, checked)
