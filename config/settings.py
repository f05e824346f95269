"""The one settings object: ``YIBAO_`` environment variables and an optional ``.env``.

The embedded default needs nothing: SQLite under ``var/``, in-process cache and jobs, and key
material generated into the data folder. Production (``YIBAO_ENV=production``) must be given
its database, Redis and keys, and refuses to start on the generated development keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    # Tortoise URL: sqlite://var/yibao.sqlite3 or postgres://user:pass@host:5432/yibao
    database_url: str | None = None
    # redis://host:6379/0; empty means the in-process store (one process only)
    redis_url: str | None = None

    # Log lines: "text" (UTC timestamp, level, logger, pid, message) or "json" (one object a line)
    log_format: Literal["text", "json"] = "text"

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    # Key material, base64 (32 bytes each). Empty in development: generated into data_dir.
    jwt_secret: str | None = None
    pii_key: str | None = None
    index_key: str | None = None
    audit_key: str | None = None

    access_token_ttl_s: int = Field(default=900, gt=0)
    # staff console: a session ends after this long without a request, and after the maximum
    console_idle_timeout_s: int = Field(default=1800, gt=0)
    console_max_session_s: int = Field(default=12 * 3600, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)

    # WeChat mini-program login (code2session); empty means the local simulator
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"

    # Terminal request signatures: how far a terminal's clock may drift
    terminal_max_skew_s: int = Field(default=300, gt=0)

    # WeChat Pay API v3 (premium payment). With no merchant id the local gateway simulator is
    # used: in-process, or the standalone `yibao paysim` server when paysim_url is set.
    wechatpay_mchid: str | None = None
    wechatpay_appid: str | None = None  # the mini-program's appid; defaults to wechat_appid
    wechatpay_api_base: str = "https://api.mch.weixin.qq.com"
    wechatpay_merchant_serial: str | None = None  # serial of the merchant API certificate
    wechatpay_private_key_file: Path | None = None  # merchant API private key (PEM)
    wechatpay_apiv3_key: str | None = None  # 32-character API v3 key
    # Platform public keys (PUB_KEY_ID_…) or platform certificates by serial, picked by the
    # Wechatpay-Serial header: "PUB_KEY_ID_0114…=keys/pub.pem,5157F0…=keys/cert.pem"
    wechatpay_platform_keys: str | None = None
    # Public HTTPS address of POST /api/v1/payments/wechat/notify (no query string)
    wechatpay_notify_url: str | None = None
    paysim_url: str | None = None  # e.g. http://127.0.0.1:8600 (development only)
    payment_order_ttl_s: int = Field(default=30 * 60, ge=300)  # unpaid orders close after this

    # E-voucher (医保电子凭证) dynamic codes: lifetime, allowed clock difference, signing keys.
    # The key set is a JSON file of ES256 keys with key ids (backend/vouchers/keyset.py); empty in
    # development means one generated into data_dir. Production must name its own file.
    voucher_code_ttl_s: int = Field(default=60, ge=10, le=300)
    voucher_clock_skew_s: int = Field(default=10, ge=0, le=120)
    voucher_keys_file: Path | None = None

    # Reimbursement claims: invoice uploads (JPEG, PNG or a one-page PDF) and their OCR job.
    upload_max_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=12 * 1024 * 1024)
    upload_max_pixels: int = Field(default=40_000_000, ge=1_000_000, le=60_000_000)
    upload_min_side_px: int = Field(default=300, ge=50)
    pdf_max_pages: int = Field(default=1, ge=1, le=10)
    ocr_engine: Literal["rapidocr", "tesseract"] = "rapidocr"
    ocr_attempts: int = Field(default=3, ge=1, le=10)
    ocr_timeout_s: float = Field(default=120.0, gt=0)
    ocr_retry_delay_s: float = Field(default=5.0, ge=0)

    # Audit chain: how often the sealer looks for new entries, and the bound on how long an
    # entry may stay unsealed before `yibao audit verify` reports the sealer as not running.
    audit_seal_interval_s: float = Field(default=0.25, gt=0, le=5)
    audit_max_unsealed_s: float = Field(default=5.0, gt=0)

    # API documentation at /docs (Swagger UI from node_modules, installed by make from the npm
    # lock file): served in development, off in production unless set to true.
    docs_enabled: bool | None = None

    @property
    def docs_served(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.production

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'yibao.sqlite3'}"
