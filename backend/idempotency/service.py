"""Idempotency keys for commands that create or move things.

A client sends ``Idempotency-Key: <1–128 printable ASCII characters>`` with a command. The
first request with a key *claims* it: a record ``(scope, key)`` is inserted (the unique
constraint decides between concurrent first requests) with no status yet, the command runs,
and a 2xx answer is stored on the record. A failure (4xx, 5xx, exception) deletes the record,
so a corrected retry can run.

A later request with the same scope and key:

- same request hash, answer stored  → the stored answer is replayed (:class:`Replay`);
- different request hash            → 409 ``IDEMPOTENCY_KEY_REUSED``;
- same hash, first still running    → 409 ``IDEMPOTENCY_IN_PROGRESS``, unless the first
  attempt started more than ``stale_after_s`` ago (its worker died): then this request takes
  the record over with a compare-and-set on the owner token and runs the command.

The scope is who sent it (``account:<id>`` or ``terminal:<key id>``): two users choosing the
same key never see each other's answers. The request hash is SHA-256 over the method, the
request target (path and query) and the raw body bytes. Records are kept ``retention_s``
(24 h by default); an expired record counts as absent and :func:`cleanup_expired` deletes them.

This module knows nothing of HTTP frameworks; ``handlers.idempotency`` wires it to Sanic.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from backend.container import Container
from backend.errors import Conflict, InvalidInput
from backend.idempotency.models import IdempotencyRecord

log = logging.getLogger("yibao.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
DEFAULT_STALE_AFTER_S = 120
DEFAULT_RETENTION_S = 24 * 3600
# Response headers worth replaying besides the body (where a created thing lives).
REPLAYED_RESPONSE_HEADERS = ("location",)

_KEY_RE = re.compile(r"[\x20-\x7e]{1,128}")
_ATTEMPTS = 4


@dataclass(frozen=True)
class Claim:
    """This request owns the key: run the command, then :func:`complete` or :func:`abandon`."""

    record_id: int
    owner: str
    taken_over: bool = False


@dataclass(frozen=True)
class Replay:
    """The stored first answer."""

    status_code: int
    content_type: str
    body: Any  # parsed JSON when content_type is JSON, else text
    headers: dict[str, str]

    @property
    def is_json(self) -> bool:
        return "json" in self.content_type


def validate_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key 应为 1 到 128 个可打印 ASCII 字符",
            code="IDEMPOTENCY_KEY_INVALID",
        )
    return key


def request_hash(method: str, target: str, body: bytes) -> str:
    """SHA-256 over ``METHOD \\n target \\n body``; neither method nor target holds a newline."""
    digest = hashlib.sha256()
    digest.update(f"{method.upper()}\n{target}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _replay_of(record: IdempotencyRecord) -> Replay:
    stored = record.response or {}
    assert record.status_code is not None
    return Replay(
        status_code=record.status_code,
        content_type=str(stored.get("content_type") or "application/json"),
        body=stored.get("body"),
        headers=dict(stored.get("headers") or {}),
    )


async def _take_over(c: Container, record: IdempotencyRecord, req_hash: str) -> Claim | None:
    """Compare-and-set on the owner token: of several takers, exactly one wins."""
    owner = secrets.token_hex(16)
    now = c.clock.now()
    won = await IdempotencyRecord.filter(id=record.id, owner=record.owner).update(
        owner=owner,
        request_hash=req_hash,
        status_code=None,
        response=None,
        started_at=now,
        created_at=now,
    )
    return Claim(record.id, owner, taken_over=True) if won else None


async def begin(
    c: Container,
    scope: str,
    key: str,
    req_hash: str,
    *,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    retention_s: float = DEFAULT_RETENTION_S,
) -> Claim | Replay:
    """Claim ``key`` for this request, or return the stored answer; 409 on reuse or overlap."""
    validate_key(key)
    for _ in range(_ATTEMPTS):
        now = c.clock.now()
        owner = secrets.token_hex(16)
        try:
            record = await IdempotencyRecord.create(
                scope=scope,
                key=key,
                request_hash=req_hash,
                owner=owner,
                started_at=now,
                created_at=now,
            )
            return Claim(record.id, owner)
        except IntegrityError:
            pass
        existing = await IdempotencyRecord.get_or_none(scope=scope, key=key)
        if existing is None:
            continue  # the first attempt failed and let go meanwhile: claim again
        if existing.created_at <= now - timedelta(seconds=retention_s):
            claim = await _take_over(c, existing, req_hash)  # expired: as if absent
            if claim:
                return claim
            continue
        if existing.request_hash != req_hash:
            raise Conflict(
                "该 Idempotency-Key 已用于另一个不同的请求，请使用新的键",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        if existing.status_code is not None:
            return _replay_of(existing)
        if existing.started_at <= now - timedelta(seconds=stale_after_s):
            claim = await _take_over(c, existing, req_hash)
            if claim:
                log.warning("idempotency record %s taken over after going stale", existing.id)
                return claim
            continue
        raise Conflict("相同的请求正在处理中，请稍后查看结果", code="IDEMPOTENCY_IN_PROGRESS")
    raise Conflict("相同的请求正在处理中，请稍后查看结果", code="IDEMPOTENCY_IN_PROGRESS")


async def complete(
    c: Container,
    claim: Claim,
    *,
    status_code: int,
    content_type: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> bool:
    """Store the answer of a successful command; False when the claim was taken over."""
    stored = {"content_type": content_type, "body": body, "headers": headers or {}}
    updated = await IdempotencyRecord.filter(id=claim.record_id, owner=claim.owner).update(
        status_code=status_code, response=stored
    )
    if not updated:
        log.warning("idempotency record %s lost to a takeover; answer not stored", claim.record_id)
    return bool(updated)


async def abandon(c: Container, claim: Claim) -> None:
    """Let go of the key after a failure, so that a corrected retry runs afresh."""
    await IdempotencyRecord.filter(id=claim.record_id, owner=claim.owner, status_code=None).delete()


async def cleanup_expired(c: Container, *, retention_s: float = DEFAULT_RETENTION_S) -> int:
    """Delete records older than the retention period; returns how many went."""
    cutoff = c.clock.now() - timedelta(seconds=retention_s)
    return await IdempotencyRecord.filter(created_at__lt=cutoff).delete()
