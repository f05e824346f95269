"""Terminal authentication: pharmacy and hospital terminals sign every request with HMAC-SHA256.

Protocol (version ``YIBAO-HMAC-SHA256``)
----------------------------------------
A terminal holds a key id and a secret, issued once by :func:`register_terminal`
(``yibao terminal add``). Every request carries four headers:

=========================  ================================================================
``X-Terminal-Key``         the key id, e.g. ``tk_3f9a0c1d2e4b5a69``
``X-Terminal-Timestamp``   Unix time in whole seconds (decimal digits, UTC)
``X-Terminal-Nonce``       16–64 characters of ``A–Z a–z 0–9 _ -``, never reused by the terminal
``X-Terminal-Signature``   standard base64 (with padding) of
                           ``HMAC-SHA256(key=secret as UTF-8 bytes, msg=canonical string)``
=========================  ================================================================

The canonical string is six lines joined by ``\\n`` (no trailing newline)::

    YIBAO-HMAC-SHA256
    <METHOD, upper case>
    <request target: the path and, if any, "?" and the query string, exactly as sent>
    <timestamp, as in the header>
    <nonce, as in the header>
    <lower-case hex SHA-256 of the raw body bytes; of b"" when there is no body>

The request target is signed byte for byte as it goes on the wire (percent-encoding and
parameter order untouched), so neither side has to agree on a normalisation.

The server refuses, each with a 401 and a stable code: missing headers
(``TERMINAL_AUTH_MISSING``), malformed values (``TERMINAL_AUTH_MALFORMED``), a timestamp more
than ``terminal_max_skew_s`` away from the server clock in either direction
(``TERMINAL_TIMESTAMP_STALE``), an unknown or deactivated key id (``TERMINAL_UNKNOWN``), a
signature that does not match (``TERMINAL_SIGNATURE_INVALID``, compared in constant time) and
a nonce already seen for this key while its timestamp is within the skew window
(``TERMINAL_NONCE_REPLAYED``). The nonce is only spent once the signature is valid, so forged
requests cannot burn a terminal's nonces. Spent nonces are kept in Redis (the fast first check)
and in the database (``backend.terminals.nonces``, the source of truth, so a replay is still
refused after Redis lost everything). A nonce older than the remembered window is useless
anyway: its timestamp is stale.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from backend.audit.service import record as audit_record
from backend.container import Container
from backend.errors import InvalidInput, NotFound, Unauthorized
from backend.identity.principal import Principal
from backend.infra.crypto import DecryptionFailed
from backend.terminals import nonces
from backend.terminals.models import Terminal
from backend.terminals.nonces import NonceRecord, nonce_replayed

SCHEME = "YIBAO-HMAC-SHA256"
HEADER_KEY = "X-Terminal-Key"
HEADER_TIMESTAMP = "X-Terminal-Timestamp"
HEADER_NONCE = "X-Terminal-Nonce"
HEADER_SIGNATURE = "X-Terminal-Signature"
HEADERS = (HEADER_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)

SECRET_FIELD = "terminal_secret"
KEY_ID_PREFIX = "tk_"

_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SIGNATURE_RE = re.compile(r"[A-Za-z0-9+/]{43}=")  # 32 bytes in standard base64
_TARGET_RE = re.compile(r"/[\x21-\x7e]*")  # printable ASCII, no spaces: as on the wire
_CITY_RE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class TerminalIdentity:
    """Who is asking, when a terminal signed the request."""

    key_id: str
    institution_code: str
    institution_name: str
    city_code: str

    @property
    def scope(self) -> str:
        return f"terminal:{self.key_id}"

    def as_json(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "institution_code": self.institution_code,
            "institution_name": self.institution_name,
            "city_code": self.city_code,
        }


@dataclass(frozen=True)
class SignedHeaders:
    key_id: str
    timestamp: str
    nonce: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: self.timestamp,
            HEADER_NONCE: self.nonce,
            HEADER_SIGNATURE: self.signature,
        }


# --- the protocol, shared by both sides -------------------------------------------------


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The exact text that is signed; see the module documentation."""
    return "\n".join((SCHEME, method.upper(), target, timestamp, nonce, body_digest(body)))


def signature_digest(secret: str, canonical: str) -> bytes:
    """The raw HMAC-SHA256 (one C call: ``hmac.digest`` builds no HMAC object)."""
    return hmac.digest(secret.encode(), canonical.encode(), "sha256")


def compute_signature(secret: str, canonical: str) -> str:
    return base64.b64encode(signature_digest(secret, canonical)).decode()


def sign_request(
    key_id: str,
    secret: str,
    method: str,
    target: str,
    body: bytes | str = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Client side (terminal SDKs, tests, benchmarks): the four headers for one request.

    ``target`` is the path plus ``?query`` exactly as it will be sent; ``body`` the exact bytes.
    """
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    signature = compute_signature(secret, canonical_string(method, target, ts, nonce, raw))
    return SignedHeaders(key_id, ts, nonce, signature).as_dict()


# --- server side --------------------------------------------------------------------------


def _refuse(code: str, message: str, **details: object) -> Unauthorized:
    return Unauthorized(message, code=code, **details)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def parse_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The four signature headers, checked for presence and shape (401 otherwise)."""
    values = {name: _header(headers, name) for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _refuse("TERMINAL_AUTH_MISSING", "缺少终端签名信息", missing=missing)
    key_id, timestamp, nonce, signature = (values[name].strip() for name in HEADERS)  # type: ignore[union-attr]
    malformed = [
        name
        for name, value, pattern in (
            (HEADER_KEY, key_id, _KEY_ID_RE),
            (HEADER_TIMESTAMP, timestamp, _TIMESTAMP_RE),
            (HEADER_NONCE, nonce, _NONCE_RE),
            (HEADER_SIGNATURE, signature, _SIGNATURE_RE),
        )
        if not pattern.fullmatch(value)
    ]
    if malformed:
        raise _refuse("TERMINAL_AUTH_MALFORMED", "终端签名信息格式有误", invalid=malformed)
    return SignedHeaders(key_id, timestamp, nonce, signature)


def terminal_cache_key(key_id: str) -> str:
    """The shared-cache key of a terminal's authentication data (see :func:`_terminal_auth`)."""
    return f"terminal:{key_id}"


@dataclass(frozen=True)
class _TerminalAuth:
    """What checking a signature needs of a terminal; cached in every process (``c.cache``),
    dropped everywhere when the terminal changes (:func:`deactivate_terminal`)."""

    identity: TerminalIdentity
    secret: str
    is_active: bool


class _NotCached(Exception):
    """An unknown key id: read through every time, so random key ids cannot fill the cache."""


async def _terminal_auth(c: Container, key_id: str) -> _TerminalAuth | None:
    async def load() -> _TerminalAuth:
        terminal = await Terminal.get_or_none(key_id=key_id)
        if terminal is None:
            raise _NotCached
        try:
            secret = c.pii.decrypt(terminal.secret_enc, SECRET_FIELD)
        except DecryptionFailed as exc:  # a key mix-up on the server, not the terminal's fault
            raise RuntimeError(f"terminal {terminal.key_id}: secret does not decrypt") from exc
        identity = TerminalIdentity(
            key_id=terminal.key_id,
            institution_code=terminal.institution_code,
            institution_name=terminal.institution_name,
            city_code=terminal.city_code,
        )
        return _TerminalAuth(identity, secret, terminal.is_active)

    try:
        if not c.kv.reaches_other_processes:
            # The embedded default: `yibao terminal disable` runs in another process that
            # cannot reach this one's cache, so the database answers every request.
            return await load()
        return await c.cache.get_or_load(terminal_cache_key(key_id), load)
    except _NotCached:
        return None


@dataclass
class PendingNonce:
    """A checked request's nonce not yet spent: the caller writes ``record`` in the same
    transaction as what the request does (the e-voucher use), or spends it with :meth:`spend`.
    Every path out of the request must spend it, refusals included, so a signed request is
    acted on once at most."""

    key: str  # the Redis key
    ttl_s: float
    record: NonceRecord  # the durable row (``backend.terminals.nonces``)
    spent: bool = False

    async def spend(self, c: Container) -> None:
        """Spend the nonce now (no-op when already spent): in Redis, then in the database;
        a replay is refused by either."""
        if self.spent:
            return
        self.spent = True
        if not await c.kv.add(self.key, "1", self.ttl_s):
            raise nonce_replayed()
        await nonces.record(c, self.record)


async def authenticate_terminal(
    c: Container,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
) -> TerminalIdentity:
    """Verify one signed request; returns the terminal or raises a 401 :class:`Unauthorized`."""
    identity, nonce = await check_terminal_signature(
        c, method=method, target=target, headers=headers, body=body
    )
    await nonce.spend(c)
    return identity


async def check_terminal_signature(
    c: Container,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[TerminalIdentity, PendingNonce]:
    """Everything :func:`authenticate_terminal` checks except the nonce, which is returned
    unspent: the caller must spend it (:class:`PendingNonce`) before acting on the request."""
    signed = parse_headers(headers)
    if not _TARGET_RE.fullmatch(target):
        raise _refuse("TERMINAL_AUTH_MALFORMED", "请求地址格式有误", invalid=["target"])

    skew = c.settings.terminal_max_skew_s
    now = c.clock.now().timestamp()
    if abs(now - int(signed.timestamp)) > skew:
        raise _refuse(
            "TERMINAL_TIMESTAMP_STALE",
            "终端时间与服务器相差过大，请校准时间后重试",
            server_time=int(now),
            max_skew_s=skew,
        )

    terminal = await _terminal_auth(c, signed.key_id)
    if terminal is None or not terminal.is_active:
        raise _refuse("TERMINAL_UNKNOWN", "终端未登记或已停用")

    expected = signature_digest(
        terminal.secret, canonical_string(method, target, signed.timestamp, signed.nonce, body)
    )
    try:
        presented = base64.b64decode(signed.signature, validate=True)
    except (ValueError, binascii.Error):  # pragma: no cover - the pattern already checked
        presented = b""
    if not hmac.compare_digest(presented, expected):
        raise _refuse("TERMINAL_SIGNATURE_INVALID", "终端签名无效")

    key_id = terminal.identity.key_id
    durable = nonces.nonce_record(key_id, signed.nonce, int(signed.timestamp), skew)
    pending = PendingNonce(f"terminal-nonce:{key_id}:{signed.nonce}", 2 * skew, durable)
    return terminal.identity, pending


# --- administration ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedTerminal:
    """A newly registered terminal; the secret exists in clear only in this object."""

    identity: TerminalIdentity
    secret: str


def _clean(value: str, field: str, max_len: int, label: str) -> str:
    value = (value or "").strip()
    if not 1 <= len(value) <= max_len:
        raise InvalidInput(f"{label}长度应为 1 到 {max_len} 个字符", field=field)
    return value


async def register_terminal(
    c: Container,
    *,
    institution_code: str,
    institution_name: str,
    city_code: str,
    actor: Principal | None = None,
) -> IssuedTerminal:
    """Register a terminal and return its key id and secret. The secret is stored encrypted
    and never shown again: a lost secret means registering a new terminal."""
    code = _clean(institution_code, "institution_code", 32, "机构编码")
    name = _clean(institution_name, "institution_name", 100, "机构名称")
    city = (city_code or "").strip()
    if not _CITY_RE.fullmatch(city):
        raise InvalidInput("城市代码应为 6 位数字", field="city_code")
    key_id = KEY_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    async with in_transaction():
        await Terminal.create(
            key_id=key_id,
            secret_enc=c.pii.encrypt(secret, SECRET_FIELD),
            institution_code=code,
            institution_name=name,
            city_code=city,
            is_active=True,
        )
        await audit_record(
            c,
            actor=actor,
            actor_role=None if actor else "cli",
            action="terminal.register",
            subject_type="terminal",
            subject_id=key_id,
            data={"institution_code": code, "institution_name": name, "city_code": city},
        )
    identity = TerminalIdentity(key_id, code, name, city)
    return IssuedTerminal(identity=identity, secret=secret)


async def deactivate_terminal(
    c: Container, key_id: str, *, reason: str = "", actor: Principal | None = None
) -> None:
    """Stop accepting a terminal's signatures at once (lost device, closed pharmacy)."""
    async with in_transaction():
        changed = await Terminal.filter(key_id=key_id, is_active=True).update(is_active=False)
        if changed:
            await audit_record(
                c,
                actor=actor,
                actor_role=None if actor else "cli",
                action="terminal.deactivate",
                subject_type="terminal",
                subject_id=key_id,
                reason=reason,
            )
    # Dropped in every process: the terminal's next request is refused at once everywhere.
    await c.cache.invalidate(terminal_cache_key(key_id))
    if not changed and not await Terminal.exists(key_id=key_id):
        raise NotFound("终端不存在", code="TERMINAL_NOT_FOUND")
