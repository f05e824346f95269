"""The e-voucher signing keys of this process: one ring per key file, re-read when the file
changes, and the JWKS (the key set and its file format: ``backend.vouchers.keyset``).

Production names the file in ``YIBAO_VOUCHER_KEYS_FILE`` (fed from a KMS or a secret mount) and
refuses a development key set. Development generates one into the data folder. The file is
re-read when it changes (checked every few seconds, and at once when a code names an unknown key
id), so ``yibao voucher-keys rotate`` takes effect in running workers without a restart.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

from backend.infra.keys import KeyConfigError
from backend.vouchers.keyset import KeySet, create_key_file, parse_key_set, rotate_key_file
from config.settings import Settings

DEV_KEY_FILE = "voucher-keys.json"
_RELOAD_CHECK_S = 3.0

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


# The rings by the settings that name their file: every verification asks for its ring, and
# building the file's path each time (a Path join) costs more than the rest of the look-up.
_BY_SETTINGS: dict[tuple[object, ...], VoucherKeyRing] = {}


def keyring_for(settings: Settings) -> VoucherKeyRing:
    """The ring of the configured key file (generated in development), shared in the process."""
    names_file = (settings.voucher_keys_file, settings.data_dir, settings.production)
    ring = _BY_SETTINGS.get(names_file)
    if ring is None:
        ring = _BY_SETTINGS[names_file] = _ring_of(key_file_for(settings), settings)
    return ring


def _ring_of(path: Path, settings: Settings) -> VoucherKeyRing:
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
    _BY_SETTINGS.clear()
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
