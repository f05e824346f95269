"""Operators see which setting or policy file is wrong, without a traceback."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_keys_refuses_to_start_and_names_them(tmp_path):
    env = {"YIBAO_ENV": "production", "YIBAO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = _start(env, "serve")
    assert result.returncode == 2
    assert "YIBAO_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_several_workers_need_redis(tmp_path):
    env = {"YIBAO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = _start(env, "serve", "--workers", "2")
    assert result.returncode == 2
    assert "YIBAO_REDIS_URL" in result.stderr


def _production_env(tmp_path, **extra: str) -> dict[str, str]:
    import base64
    import os

    key = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
    return {
        "PATH": "/usr/bin:/bin",
        "YIBAO_ENV": "production",
        "YIBAO_DATA_DIR": str(tmp_path),
        "YIBAO_JWT_SECRET": key(),
        "YIBAO_PII_KEY": key(),
        "YIBAO_INDEX_KEY": key(),
        "YIBAO_AUDIT_KEY": key(),
        **extra,
    }


def test_production_names_every_missing_gateway_identity_and_storage_setting(tmp_path):
    env = _production_env(
        tmp_path,
        YIBAO_DATABASE_URL="sqlite://x.db",
        YIBAO_REDIS_URL="redis://127.0.0.1:1/0",
        YIBAO_WECHAT_APPID="wx123",
        YIBAO_DATA_DIR=str(tmp_path / "missing"),
    )
    for command in ("serve", "worker"):
        result = _start(env, command)
        assert result.returncode == 2, result.stderr
        for name in (
            "YIBAO_DATABASE_URL",
            "YIBAO_WECHAT_SECRET",
            "YIBAO_WECHATPAY_MCHID",
            "YIBAO_DATA_DIR",
            "YIBAO_VOUCHER_KEYS_FILE",
        ):
            assert name in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.stderr


def test_production_names_an_incomplete_payment_gateway(tmp_path):
    env = _production_env(
        tmp_path,
        YIBAO_DATABASE_URL="postgres://u@127.0.0.1:1/db",
        YIBAO_REDIS_URL="redis://127.0.0.1:1/0",
        YIBAO_WECHAT_APPID="wx123",
        YIBAO_WECHAT_SECRET="s",
        YIBAO_WECHATPAY_MCHID="1900000001",
    )
    result = _start(env, "serve")
    assert result.returncode == 2
    assert "YIBAO_WECHATPAY_APIV3_KEY" in result.stderr
    assert "YIBAO_WECHATPAY_NOTIFY_URL" in result.stderr
    assert "YIBAO_WECHAT_SECRET" not in result.stderr
