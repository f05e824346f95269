"""Start-up checks of the configuration: in production, a missing or inconsistent setting of
the keys, the database, Redis, the payment gateway, the identity provider, storage or the e-voucher
keys stops ``yibao serve`` and ``yibao worker`` before anything starts, with a message that
names the setting (instead of a server that says ready and then fails every order)."""

from __future__ import annotations

import os
from pathlib import Path

from config.settings import Settings


class ConfigurationError(Exception):
    pass


def _keys(settings: Settings) -> list[str]:
    from backend.infra.keys import KeyConfigError, load_keys

    try:
        load_keys(settings)
    except KeyConfigError as exc:
        return [str(exc)]
    return []


def _database_and_redis(settings: Settings) -> list[str]:
    problems = []
    url = settings.database_url or ""
    if not url.startswith(("postgres://", "postgresql://")):
        problems.append("YIBAO_DATABASE_URL：生产环境须使用 PostgreSQL（postgres://…）")
    if not settings.redis_url:
        problems.append("YIBAO_REDIS_URL：生产环境须配置 Redis")
    return problems


def _identity_provider(settings: Settings) -> list[str]:
    missing = [
        f"YIBAO_{name.upper()}"
        for name in ("wechat_appid", "wechat_secret")
        if not getattr(settings, name)
    ]
    if missing:
        return [f"{'、'.join(missing)}：生产环境须配置小程序登录凭据（不能使用本地模拟器）"]
    return []


def _gateway(settings: Settings) -> list[str]:
    from backend.clock import SystemClock
    from backend.payments.runtime import PaymentConfigError, build_runtime

    try:
        build_runtime(settings, SystemClock())
    except PaymentConfigError as exc:
        return [str(exc)]
    except (OSError, ValueError) as exc:
        return [f"YIBAO_WECHATPAY_PRIVATE_KEY_FILE / YIBAO_WECHATPAY_PLATFORM_KEYS 无法读取：{exc}"]
    return []


def _storage(settings: Settings) -> list[str]:
    folder = Path(settings.data_dir)
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return [f"YIBAO_DATA_DIR：目录 {folder} 不存在或不可写（上传的票据保存在其中）"]
    return []


def _voucher_keys(settings: Settings) -> list[str]:
    from backend.infra.keys import KeyConfigError
    from backend.vouchers.keys import keyring_for

    try:
        keyring_for(settings)
    except (KeyConfigError, OSError, ValueError) as exc:
        return [f"YIBAO_VOUCHER_KEYS_FILE：{exc}"]
    return []


def check(settings: Settings) -> None:
    """Raise :class:`ConfigurationError` listing every problem (production only)."""
    if not settings.production:
        return
    problems = [
        *_keys(settings),
        *_database_and_redis(settings),
        *_identity_provider(settings),
        *_gateway(settings),
        *_storage(settings),
        *_voucher_keys(settings),
    ]
    if problems:
        raise ConfigurationError("；".join(problems))
