"""Key material. Production takes every key from settings (environment or a KMS-fed file);
development generates keys once into the data folder and marks them as development keys."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings

KEY_NAMES = ("jwt_secret", "pii_key", "index_key", "audit_key")
DEV_KEY_FILE = "dev-keys.json"


class KeyConfigError(Exception):
    pass


@dataclass(frozen=True)
class KeyRing:
    jwt_secret: bytes
    pii_key: bytes
    index_key: bytes
    audit_key: bytes


def _decode(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise KeyConfigError(f"YIBAO_{name.upper()} 不是有效的 base64") from exc
    if len(raw) != 32:
        raise KeyConfigError(f"YIBAO_{name.upper()} 必须是 32 字节（base64 编码）")
    return raw


def _dev_keys(data_dir: Path) -> dict[str, str]:
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = {name: base64.b64encode(secrets.token_bytes(32)).decode() for name in KEY_NAMES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"warning": "development keys, never use in production", **keys}, fh)
    return keys


def load_keys(settings: Settings) -> KeyRing:
    configured = {name: getattr(settings, name) for name in KEY_NAMES}
    if settings.production:
        missing = [f"YIBAO_{n.upper()}" for n, v in configured.items() if not v]
        if missing:
            raise KeyConfigError(f"生产环境必须配置密钥：{', '.join(missing)}")
        dev_file = settings.data_dir / DEV_KEY_FILE
        if dev_file.exists():
            dev = json.loads(dev_file.read_text())
            reused = [f"YIBAO_{n.upper()}" for n, v in configured.items() if dev.get(n) == v]
            if reused:
                raise KeyConfigError(f"生产环境不得使用开发密钥：{', '.join(reused)}")
        values = configured
    else:
        dev = _dev_keys(settings.data_dir)
        values = {n: v or dev[n] for n, v in configured.items()}
    return KeyRing(**{n: _decode(n, v) for n, v in values.items()})
