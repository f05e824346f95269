"""The append-only audit log: every login, binding, staff read of another person's data and
decision, chained with HMAC-SHA256 so that a changed, inserted or deleted entry is detected.

The chain uses a key kept outside the database: someone able to write to the database cannot
recompute a valid chain after editing it.

Appending takes no lock: :func:`record` inserts the entry, unchained, inside the transaction
of the change it records, so the decision and its entry commit or fail together and no
business transaction waits for an unrelated one. The sealer (:mod:`backend.audit.sealer`)
chains committed entries afterwards, in batches, in the order they became visible; the
unsealed tail is the only part not yet protected, and its age is bounded
(``audit_max_unsealed_s``) and reported by :func:`verify_chain`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from tortoise.functions import Count, Min

from backend.audit.models import AuditEntry, AuditHead

if TYPE_CHECKING:
    from backend.container import Container
    from backend.identity.principal import Principal

GENESIS = "0" * 64
CHAIN = "audit"


def digest(key: bytes, entry: AuditEntry) -> str:
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
    """Append one entry. ``actor`` None means the system (sweeper, callback) or ``actor_role``.

    One INSERT in the caller's transaction; the sealer chains it after the commit."""
    return await AuditEntry.create(
        at=c.clock.now(),
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else (actor_role or "system"),
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason[:500],
        data=data or {},
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""
    seq: int | None = None
    unsealed: int = 0
    unsealed_age_s: float = 0.0  # age of the oldest entry not yet sealed
    max_unsealed_s: float = 0.0  # the promised bound

    @property
    def tail_stale(self) -> bool:
        return self.unsealed > 0 and self.unsealed_age_s > self.max_unsealed_s

    def describe(self) -> str:
        tail = (
            f"；未封存 {self.unsealed} 条，最早的已等待 {self.unsealed_age_s:.1f} 秒"
            if self.unsealed
            else "；没有未封存的记录"
        )
        if not self.ok:
            where = f"第 {self.seq} 条，{self.problem}（已校验 {self.checked} 条）"
            return f"审计链被破坏：{where}{tail}"
        if self.tail_stale:
            return (
                f"审计链已封存部分完整（{self.checked} 条），但未封存记录超过 "
                f"{self.max_unsealed_s:g} 秒未封存：封存进程可能未运行{tail}"
            )
        return f"审计链完整：共校验 {self.checked} 条已封存记录{tail}"


async def _unsealed_tail(c: Container) -> tuple[int, float]:
    row = (
        await AuditEntry.filter(seq__isnull=True)
        .annotate(n=Count("id"), oldest=Min("at"))
        .first()
        .values("n", "oldest")
    )
    if not row or not row["n"]:
        return 0, 0.0
    return row["n"], max(0.0, (c.clock.now() - row["oldest"]).total_seconds())


async def verify_chain(c: Container, batch: int = 2000) -> ChainReport:
    """Check every sealed entry (contiguous positions, links, HMACs, the head) and report
    the unsealed tail; ``ok`` is about the sealed chain, ``tail_stale`` about the bound."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    unsealed, age = await _unsealed_tail(c)
    bound = c.settings.audit_max_unsealed_s

    def broken(problem: str, seq: int) -> ChainReport:
        return ChainReport(False, checked, problem, seq, unsealed, age, bound)

    while True:
        rows = await AuditEntry.filter(seq__gte=expected_seq).order_by("seq").limit(batch)
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return broken("记录缺失（序号不连续）", expected_seq)
            if entry.prev_hash != prev_hash:
                return broken("与前一条记录的链接不符", entry.seq)
            if not hmac.compare_digest(entry.hash or "", digest(c.keys.audit_key, entry)):
                return broken("内容被修改", entry.seq)
            prev_hash, expected_seq, checked = entry.hash or "", entry.seq + 1, checked + 1
    head = await AuditHead.get_or_none(chain=CHAIN)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != checked or head_hash != prev_hash:
        return broken("链尾记录缺失或被替换", checked + 1)
    return ChainReport(True, checked, unsealed=unsealed, unsealed_age_s=age, max_unsealed_s=bound)
