"""Which gateway this process talks to, built once per container from settings.

- Production (``YIBAO_WECHATPAY_MCHID`` set): the WeChat Pay adapter with the merchant key,
  the API v3 key and the platform keys (public-key mode ``PUB_KEY_ID_…`` and/or certificates,
  selected by serial) from settings.
- Development without a merchant: the simulator's keys are generated once into
  ``<data_dir>/paysim/``; the adapter talks to the standalone ``yibao paysim`` server when
  ``YIBAO_PAYSIM_URL`` is set, otherwise to an in-process simulator mounted as its transport.
- Tests install their own runtime (:func:`install`).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.clock import Clock
from backend.payments import protocol
from backend.payments.gateway import PaymentGateway
from backend.payments.wechatpay import WechatPayClient
from config.settings import Settings

if TYPE_CHECKING:
    from backend.container import Container
    from backend.payments.simulator.callbacks import Sender
    from backend.payments.simulator.paysim import PaySimulator

NOTIFY_PATH = "/api/v1/payments/wechat/notify"


class PaymentConfigError(Exception):
    pass


@dataclass
class PaymentsRuntime:
    gateway: PaymentGateway
    platform_keys: dict[str, rsa.RSAPublicKey]
    apiv3_key: bytes
    mchid: str
    appid: str
    notify_url: str
    order_ttl_s: int
    simulator: PaySimulator | None = None
    background: asyncio.Task[None] | None = None


def install(c: Container, rt: PaymentsRuntime | None) -> None:
    """Use ``rt`` for this container (tests, the simulator); None forgets it."""
    c.payments = rt


def runtime(c: Container) -> PaymentsRuntime:
    """The container's payment runtime, built from settings on first use. An in-process
    simulator built here also starts its callback delivery loop (retries)."""
    rt = c.payments
    if rt is None:
        rt = c.payments = build_runtime(c.settings, c.clock)
        if rt.simulator is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                rt.background = loop.create_task(rt.simulator.run())
    return rt


# -- development keys (the simulator's and the merchant's) ---------------------------------


@dataclass(frozen=True)
class DevKeys:
    mchid: str
    appid: str
    merchant_serial: str
    merchant_key: rsa.RSAPrivateKey
    platform_serial: str
    platform_key: rsa.RSAPrivateKey
    apiv3_key: bytes


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def dev_keys(data_dir: Path) -> DevKeys:
    """The simulator's RSA key, a merchant key and an API v3 key, generated once."""
    folder = data_dir / "paysim"
    meta_path = folder / "paysim.json"
    if not meta_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("platform_key.pem", "merchant_key.pem"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            with suppress(FileExistsError):
                _write_new(folder / name, protocol.private_pem(key))
        meta = {
            "warning": "development keys of the local payment simulator, never use in production",
            "mchid": "1900000109",
            "appid": "wxd0000000000sim",
            "merchant_serial": secrets.token_hex(20).upper(),
            "platform_serial": "PUB_KEY_ID_SIM" + secrets.token_hex(8).upper(),
            "apiv3_key": secrets.token_hex(16),
        }
        with suppress(FileExistsError):  # another process generated them first
            _write_new(meta_path, json.dumps(meta, indent=2).encode())
    meta = json.loads(meta_path.read_text())
    return DevKeys(
        mchid=meta["mchid"],
        appid=meta["appid"],
        merchant_serial=meta["merchant_serial"],
        merchant_key=protocol.load_private_key((folder / "merchant_key.pem").read_bytes()),
        platform_serial=meta["platform_serial"],
        platform_key=protocol.load_private_key((folder / "platform_key.pem").read_bytes()),
        apiv3_key=protocol.apiv3_key_bytes(meta["apiv3_key"]),
    )


def make_simulator(
    keys: DevKeys, clock: Clock, *, sender: Sender | None = None, **kwargs: object
) -> PaySimulator:
    from backend.payments.simulator.callbacks import http_sender
    from backend.payments.simulator.paysim import PaySimulator

    return PaySimulator(
        mchid=keys.mchid,
        appid=keys.appid,
        apiv3_key=keys.apiv3_key,
        platform_key=keys.platform_key,
        platform_serial=keys.platform_serial,
        merchant_public_key=keys.merchant_key.public_key(),
        merchant_serial=keys.merchant_serial,
        clock=clock,
        sender=sender or http_sender,
        **kwargs,  # type: ignore[arg-type]
    )


def simulated_runtime(
    keys: DevKeys,
    clock: Clock,
    *,
    notify_url: str,
    order_ttl_s: int,
    simulator: PaySimulator | None = None,
    base_url: str | None = None,
) -> PaymentsRuntime:
    """The real adapter in front of the simulator: in-process (``simulator``) or over HTTP."""
    now: Callable[[], float] = lambda: clock.now().timestamp()  # noqa: E731
    if simulator is not None:
        http = httpx.AsyncClient(base_url=simulator.base_url, transport=simulator.transport())
    else:
        http = httpx.AsyncClient(base_url=base_url or "", timeout=10.0)
    gateway = WechatPayClient(
        mchid=keys.mchid,
        appid=keys.appid,
        merchant_serial=keys.merchant_serial,
        private_key=keys.merchant_key,
        platform_keys={keys.platform_serial: keys.platform_key.public_key()},
        base_url=base_url or "",
        now=now,
        http=http,
    )
    return PaymentsRuntime(
        gateway=gateway,
        platform_keys={keys.platform_serial: keys.platform_key.public_key()},
        apiv3_key=keys.apiv3_key,
        mchid=keys.mchid,
        appid=keys.appid,
        notify_url=notify_url,
        order_ttl_s=order_ttl_s,
        simulator=simulator,
    )


def _platform_keys(spec: str) -> dict[str, rsa.RSAPublicKey]:
    keys: dict[str, rsa.RSAPublicKey] = {}
    for item in spec.split(","):
        serial, sep, path = item.strip().partition("=")
        if not sep:
            raise PaymentConfigError("YIBAO_WECHATPAY_PLATFORM_KEYS 应为 序列号=文件路径,…")
        keys[serial.strip()] = protocol.load_public_key(Path(path.strip()).read_bytes())
    return keys


def build_runtime(settings: Settings, clock: Clock) -> PaymentsRuntime:
    default_notify = f"http://{settings.host}:{settings.port}{NOTIFY_PATH}"
    notify_url = settings.wechatpay_notify_url or default_notify
    if settings.wechatpay_mchid:
        return _merchant_runtime(settings, settings.wechatpay_mchid, clock, notify_url)
    if settings.production:
        raise PaymentConfigError("生产环境必须配置微信支付商户（YIBAO_WECHATPAY_MCHID 等）")
    keys = dev_keys(settings.data_dir)
    if settings.paysim_url:
        return simulated_runtime(
            keys,
            clock,
            notify_url=notify_url,
            order_ttl_s=settings.payment_order_ttl_s,
            base_url=settings.paysim_url,
        )
    simulator = make_simulator(keys, clock)
    return simulated_runtime(
        keys,
        clock,
        notify_url=notify_url,
        order_ttl_s=settings.payment_order_ttl_s,
        simulator=simulator,
    )


def _merchant_runtime(
    settings: Settings, mchid: str, clock: Clock, notify_url: str
) -> PaymentsRuntime:
    """The real WeChat Pay merchant ``mchid``, when its settings are complete."""
    missing = [
        name
        for name in (
            "wechatpay_merchant_serial",
            "wechatpay_private_key_file",
            "wechatpay_apiv3_key",
            "wechatpay_platform_keys",
            "wechatpay_notify_url",
        )
        if not getattr(settings, name)
    ]
    appid = settings.wechatpay_appid or settings.wechat_appid
    if not appid:
        missing.append("wechatpay_appid")
    if missing:
        names = ", ".join(f"YIBAO_{m.upper()}" for m in missing)
        raise PaymentConfigError(f"微信支付配置不完整：{names}")
    if settings.production and not notify_url.startswith("https://"):
        raise PaymentConfigError("支付回调地址必须是 HTTPS")
    platform_keys = _platform_keys(settings.wechatpay_platform_keys or "")
    gateway = WechatPayClient(
        mchid=mchid,
        appid=appid or "",
        merchant_serial=settings.wechatpay_merchant_serial or "",
        private_key=protocol.load_private_key(
            Path(settings.wechatpay_private_key_file or "").read_bytes()
        ),
        platform_keys=platform_keys,
        base_url=settings.wechatpay_api_base,
        now=lambda: clock.now().timestamp(),
    )
    return PaymentsRuntime(
        gateway=gateway,
        platform_keys=platform_keys,
        apiv3_key=protocol.apiv3_key_bytes(settings.wechatpay_apiv3_key or ""),
        mchid=mchid,
        appid=appid or "",
        notify_url=notify_url,
        order_ttl_s=settings.payment_order_ttl_s,
    )
