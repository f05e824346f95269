"""The e-voucher key set: ES256 (ECDSA P-256, SHA-256) keys with key ids and rotation, and
the JSON file that holds them (``backend.vouchers.keys`` keeps one reading per process).

The key set is one JSON file::

    {"development": false,
     "keys": [{"kid": "Q3mZ8a1x", "activates_at": "2026-01-01T00:00:00+00:00",
               "private_key": "-----BEGIN PRIVATE KEY-----\\n…"},
              {"kid": "b7Yt0pQe", "activates_at": "2026-07-01T00:00:00+00:00",
               "private_key": "…"}]}

- The key that signs is the newest one whose ``activates_at`` has come. A key stops signing
  when the next one activates: that moment is its *retirement*.
- A key is published (JWKS) and accepted for live codes from the moment it is in the file, so
  terminals that verify offline can fetch it *before* it signs (rotate with a lead time), until
  every code it signed has expired: retirement + code lifetime + clock-skew allowance.
- A code is accepted only if its ``iat`` falls in its key's signing window, so a retired key
  (say, a leaked one) cannot mint new codes that verify.
- Offline uses reported later are checked against any key still in the file, within its
  signing window; rotation keeps a retired key's public part for ``keep_public_days``.
- ``"compromised": true`` withdraws a key at once: never published, never accepted.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.infra.keys import KeyConfigError

ALGORITHM = "ES256"
KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# The first development key signs "since always", so tests may set the clock anywhere.
_SINCE_ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_KEEP_PUBLIC_DAYS = 30


@dataclass(frozen=True)
class VoucherKey:
    kid: str
    activates_at: datetime
    public_key: ec.EllipticCurvePublicKey
    private_key: ec.EllipticCurvePrivateKey | None
    retired_at: datetime | None = None  # when the next key took over signing
    compromised: bool = False

    def signed_within_window(self, iat: float, skew_s: float) -> bool:
        """Whether a code issued at ``iat`` (Unix seconds) could have been signed by this key."""
        if iat < self.activates_at.timestamp() - skew_s:
            return False
        return self.retired_at is None or iat <= self.retired_at.timestamp() + skew_s

    def published_at(self, now: datetime, retention_s: float) -> bool:
        if self.compromised:
            return False
        return self.retired_at is None or now.timestamp() < (
            self.retired_at.timestamp() + retention_s
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class KeySet:
    """One immutable reading of the key file."""

    keys: tuple[VoucherKey, ...]  # by activates_at
    development: bool
    by_kid: dict[str, VoucherKey] = field(default_factory=dict)

    def signer(self, now: datetime) -> VoucherKey:
        current = None
        for key in self.keys:
            if not key.compromised and key.activates_at <= now:
                current = key
        if current is None or current.private_key is None:
            raise KeyConfigError(
                "没有可用于签发医保电子凭证码的密钥（检查密钥文件的生效时间和私钥）"
            )
        return current

    def get(self, kid: str) -> VoucherKey | None:
        key = self.by_kid.get(kid)
        return None if key is None or key.compromised else key

    def published(self, now: datetime, retention_s: float) -> list[VoucherKey]:
        return [k for k in self.keys if k.published_at(now, retention_s)]


def _parse_time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise KeyConfigError(f"{where}: activates_at 不是有效的时间") from exc
    if moment.tzinfo is None:
        raise KeyConfigError(f"{where}: activates_at 必须带时区")
    return moment


def _load_private(pem: str, where: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"{where}: private_key 不是有效的 PEM 私钥") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise KeyConfigError(f"{where}: 只接受 P-256（ES256）私钥")
    return key


def _load_public(pem: str, where: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"{where}: public_key 不是有效的 PEM 公钥") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise KeyConfigError(f"{where}: 只接受 P-256（ES256）公钥")
    return key


def _public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def parse_key_set(raw: dict[str, Any], name: str) -> KeySet:
    entries = raw.get("keys") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise KeyConfigError(f"{name}: 需要非空的 keys 列表")
    parsed: list[VoucherKey] = []
    for i, entry in enumerate(entries):
        where = f"{name}: keys[{i}]"
        if not isinstance(entry, dict):
            raise KeyConfigError(f"{where}: 应为对象")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not KID_RE.fullmatch(kid):
            raise KeyConfigError(f"{where}: kid 应为 1 到 32 个字母、数字、- 或 _")
        private = _load_private(entry["private_key"], where) if entry.get("private_key") else None
        public = _load_public(entry["public_key"], where) if entry.get("public_key") else None
        if private is None and public is None:
            raise KeyConfigError(f"{where}: 需要 private_key 或 public_key")
        if private is not None:
            derived = private.public_key()
            if public is not None and derived.public_numbers() != public.public_numbers():
                raise KeyConfigError(f"{where}: public_key 与 private_key 不匹配")
            public = derived
        assert public is not None
        parsed.append(
            VoucherKey(
                kid=kid,
                activates_at=_parse_time(entry.get("activates_at"), where),
                public_key=public,
                private_key=private,
                compromised=bool(entry.get("compromised", False)),
            )
        )
    kids = [k.kid for k in parsed]
    if len(set(kids)) != len(kids):
        raise KeyConfigError(f"{name}: kid 重复")
    parsed.sort(key=lambda k: k.activates_at)
    chain = [k for k in parsed if not k.compromised]
    retired = {a.kid: b.activates_at for a, b in itertools.pairwise(chain)}
    keys = tuple(
        VoucherKey(
            kid=k.kid,
            activates_at=k.activates_at,
            public_key=k.public_key,
            private_key=k.private_key,
            retired_at=retired.get(k.kid),
            compromised=k.compromised,
        )
        for k in parsed
    )
    return KeySet(keys, bool(raw.get("development", False)), {k.kid: k for k in keys})


# --- the file ----------------------------------------------------------------------------


def new_key_entry(activates_at: datetime, taken: set[str] | frozenset[str] = frozenset()) -> dict:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = secrets.token_urlsafe(6)  # 8 characters: the header stays small
    while kid in taken:
        kid = secrets.token_urlsafe(6)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"kid": kid, "activates_at": activates_at.isoformat(), "private_key": pem}


def _write_atomically(path: Path, data: dict[str, Any], *, exclusive: bool = False) -> None:
    """Write ``data`` as the whole file at once (readers never see half a file), mode 0600.
    With ``exclusive`` an existing file wins and FileExistsError is raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".voucher-keys-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if another process created the file meanwhile
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_key_file(path: Path, *, development: bool) -> None:
    """A new key set with one key that signs at once. Existing files are left alone."""
    data: dict[str, Any] = {"development": development}
    if development:
        data["warning"] = "development keys, never use in production"
    data["keys"] = [new_key_entry(_SINCE_ALWAYS if development else datetime.now(UTC))]
    with contextlib.suppress(FileExistsError):
        _write_atomically(path, data, exclusive=True)


def rotate_key_file(
    path: Path,
    *,
    now: datetime,
    activate_in_s: float = 0,
    retention_s: float,
    keep_public_days: int = DEFAULT_KEEP_PUBLIC_DAYS,
) -> str:
    """Add a new key that starts signing ``activate_in_s`` from ``now``; returns its kid.

    Housekeeping on the way: a key retired more than ``retention_s`` ago (its codes have all
    expired) loses its private part; one retired more than ``keep_public_days`` ago (no offline
    report can be that late) is dropped."""
    raw = json.loads(path.read_text())
    current = parse_key_set(raw, path.name)
    keep_until = now - timedelta(days=keep_public_days)
    private_until = now - timedelta(seconds=retention_s)
    entries = []
    for entry in raw["keys"]:
        key = current.by_kid[entry["kid"]]
        if key.retired_at is not None and key.retired_at < keep_until:
            continue
        if key.retired_at is not None and key.retired_at < private_until and key.private_key:
            entry = {k: v for k, v in entry.items() if k != "private_key"}
            entry["public_key"] = _public_pem(key.public_key)
        entries.append(entry)
    new = new_key_entry(now + timedelta(seconds=activate_in_s), set(current.by_kid))
    raw["keys"] = [*entries, new]
    parse_key_set(raw, path.name)  # never write a file that would not load
    _write_atomically(path, raw)
    return new["kid"]
