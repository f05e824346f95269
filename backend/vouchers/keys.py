"""The e-voucher signing keys: ES256 (ECDSA P-256, SHA-256) keys with key ids, rotation, JWKS.

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

Production names the file in ``YIBAO_VOUCHER_KEYS_FILE`` (fed from a KMS or a secret mount) and
refuses a development key set. Development generates one into the data folder. The file is
re-read when it changes (checked every few seconds, and at once when a code names an unknown key
id), so ``yibao voucher-keys rotate`` takes effect in running workers without a restart.
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
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.infra.keys import KeyConfigError
from config.settings import Settings

ALGORITHM = "ES256"
DEV_KEY_FILE = "voucher-keys.json"
KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# The first development key signs "since always", so tests may set the clock anywhere.
_SINCE_ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)
_RELOAD_CHECK_S = 3.0
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


# --- the ring: one per key file per process ------------------------------------------------


class VoucherKeyRing:
    """The key set of one file, re-read when the file changes."""

    def __init__(self, path: Path, *, production: bool, dev_file: Path | None) -> None:
        self.path = path
        self._production = production
        self._dev_file = dev_file
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._set = self._load()

    @property
    def keys(self) -> KeySet:
        if time.monotonic() - self._checked > _RELOAD_CHECK_S:
            self.reload_if_changed()
        return self._set

    def reload_if_changed(self) -> bool:
        """Re-read the file if it changed; True when it did. A bad new file keeps the old set
        (and says so in the exception) rather than leaving the service without keys."""
        self._checked = time.monotonic()
        try:
            stamp = self._file_stamp()
        except FileNotFoundError:
            return False
        if stamp == self._stamp:
            return False
        self._set = self._load()
        return True

    def _file_stamp(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _load(self) -> KeySet:
        try:
            stamp = self._file_stamp()
            raw = json.loads(self.path.read_text())
        except FileNotFoundError as exc:
            raise KeyConfigError(f"医保电子凭证密钥文件不存在：{self.path.name}") from exc
        except ValueError as exc:
            raise KeyConfigError(f"{self.path.name}: 不是有效的 JSON") from exc
        key_set = parse_key_set(raw, self.path.name)
        if self._production:
            self._refuse_development(key_set)
        self._stamp = stamp
        self._checked = time.monotonic()
        return key_set

    def _refuse_development(self, key_set: KeySet) -> None:
        refused = KeyConfigError("生产环境不得使用开发用的医保电子凭证密钥")
        if key_set.development:
            raise refused
        dev = self._dev_file
        if dev is None or not dev.exists():
            return
        if dev.resolve() == self.path.resolve():
            raise refused
        try:
            dev_set = parse_key_set(json.loads(dev.read_text()), dev.name)
        except (KeyConfigError, ValueError):
            return
        dev_points = {k.public_key.public_numbers() for k in dev_set.keys}
        if any(k.public_key.public_numbers() in dev_points for k in key_set.keys):
            raise refused


_RINGS: dict[Path, VoucherKeyRing] = {}


def key_file_for(settings: Settings) -> Path:
    if settings.voucher_keys_file is not None:
        return Path(settings.voucher_keys_file)
    if settings.production:
        raise KeyConfigError("生产环境必须配置医保电子凭证密钥文件：YIBAO_VOUCHER_KEYS_FILE")
    return settings.data_dir / DEV_KEY_FILE


def keyring_for(settings: Settings) -> VoucherKeyRing:
    """The ring of the configured key file (generated in development), shared in the process."""
    path = key_file_for(settings)
    ring = _RINGS.get(path)
    if ring is None:
        if not settings.production and not path.exists():
            create_key_file(path, development=True)
        ring = VoucherKeyRing(
            path,
            production=settings.production,
            dev_file=settings.data_dir / DEV_KEY_FILE,
        )
        _RINGS[path] = ring
    return ring


def forget_keyrings(path: Path | None = None) -> None:
    """Drop the process's ring of ``path`` (every ring when None): the next use reads the key
    file again, as a restarted process would."""
    if path is None:
        _RINGS.clear()
    else:
        _RINGS.pop(path, None)


def retention_s(settings: Settings) -> float:
    """How long a retired key stays published: until the last code it signed has expired."""
    return settings.voucher_code_ttl_s + settings.voucher_clock_skew_s


def jwks(settings: Settings, now: datetime) -> dict[str, list[dict[str, str]]]:
    ring = keyring_for(settings)
    return {"keys": [k.jwk() for k in ring.keys.published(now, retention_s(settings))]}


def rotate(settings: Settings, now: datetime, *, activate_in_s: float = 0) -> str:
    """Rotate the configured key file (see :func:`rotate_key_file`) and make this process's
    ring see it at once; other processes notice the changed file within seconds."""
    ring = keyring_for(settings)
    kid = rotate_key_file(
        ring.path, now=now, activate_in_s=activate_in_s, retention_s=retention_s(settings)
    )
    ring.reload_if_changed()
    return kid
