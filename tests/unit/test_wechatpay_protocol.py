"""WeChat Pay API v3 signatures, resource encryption and the adapter against the simulator."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backend.clock import FixedClock
from backend.payments import protocol
from backend.payments.gateway import GatewayError
from backend.payments.reconcile import parse_bill
from backend.payments.runtime import dev_keys, make_simulator, simulated_runtime

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APIV3 = b"0123456789abcdef0123456789abcdef"
NOW = 1_760_000_000


def test_callback_signature_covers_timestamp_nonce_and_raw_body():
    body = b'{"id":"n1","resource":{}}'
    headers = protocol.response_headers(KEY, "PUB_KEY_ID_X", body, NOW, nonce="N0NCE")
    # independently: SHA256-RSA PKCS#1 v1.5 over "ts\nnonce\nbody\n"
    KEY.public_key().verify(
        base64.b64decode(headers["Wechatpay-Signature"]),
        f"{NOW}\nN0NCE\n".encode() + body + b"\n",
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    keys = {"PUB_KEY_ID_X": KEY.public_key()}
    assert protocol.verify_wechatpay(headers, body, keys, NOW + 299) == "PUB_KEY_ID_X"
    for now, reason in ((NOW + 300, "timestamp_stale"), (NOW - 300, "timestamp_stale")):
        with pytest.raises(protocol.SignatureInvalid) as err:
            protocol.verify_wechatpay(headers, body, keys, now)
        assert err.value.reason == reason
    with pytest.raises(protocol.SignatureInvalid, match="bad_signature"):
        protocol.verify_wechatpay(headers, body + b" ", keys, NOW)
    with pytest.raises(protocol.SignatureInvalid, match="unknown_serial"):
        protocol.verify_wechatpay(headers, body, {"OTHER": KEY.public_key()}, NOW)
    for garbage in ("", "not base64!", "WECHATPAY/SIGNTEST/abc"):
        broken = {**headers, "Wechatpay-Signature": garbage}
        with pytest.raises(protocol.SignatureInvalid):
            protocol.verify_wechatpay(broken, body, keys, NOW)


def test_request_authorization_header_is_wechatpay2():
    header = protocol.authorization(
        mchid="1900000109",
        serial="ABC",
        key=KEY,
        method="POST",
        target="/v3/pay/transactions/jsapi",
        body='{"a":1}',
        timestamp=NOW,
        nonce="XYZ",
    )
    parts = protocol.parse_authorization(header)
    assert header.startswith("WECHATPAY2-SHA256-RSA2048 ")
    assert parts["mchid"] == "1900000109" and parts["serial_no"] == "ABC"
    message = f'POST\n/v3/pay/transactions/jsapi\n{NOW}\nXYZ\n{{"a":1}}\n'
    assert protocol.verify(KEY.public_key(), message, parts["signature"])


def test_resource_decryption_detects_any_change():
    sealed = protocol.encrypt_resource(APIV3, {"out_trade_no": "YB1"}, "transaction", "transaction")
    assert protocol.decrypt_resource(APIV3, sealed) == {"out_trade_no": "YB1"}
    with pytest.raises(protocol.DecryptFailed):
        protocol.decrypt_resource(APIV3, {**sealed, "associated_data": "refund"})
    with pytest.raises(protocol.DecryptFailed):
        protocol.decrypt_resource(b"f" * 32, sealed)
    with pytest.raises(protocol.DecryptFailed):
        protocol.decrypt_resource(APIV3, {**sealed, "ciphertext": "%%%"})
    with pytest.raises(protocol.DecryptFailed):
        protocol.decrypt_resource(APIV3, {**sealed, "algorithm": "AES_CBC"})


@pytest.fixture
def setup(tmp_path):
    clock = FixedClock(datetime(2025, 11, 20, 2, 0, tzinfo=UTC))
    keys = dev_keys(tmp_path)
    sim = make_simulator(keys, clock)
    rt = simulated_runtime(
        keys, clock, notify_url="https://x.test/n", order_ttl_s=1800, simulator=sim
    )
    return clock, keys, sim, rt


async def test_adapter_round_trip_with_the_simulator(setup):
    clock, _, sim, rt = setup
    gw = rt.gateway
    expire = clock.now() + timedelta(minutes=30)
    prepay = await gw.prepay(
        method="jsapi",
        out_trade_no="YB1",
        description="d",
        total_fen=40000,
        openid="o1",
        notify_url="https://x.test/n",
        time_expire=expire,
    )
    # the same out_trade_no again: the same prepay id, never a second payable order
    again = await gw.prepay(
        method="jsapi",
        out_trade_no="YB1",
        description="d",
        total_fen=40000,
        openid="o1",
        notify_url="https://x.test/n",
        time_expire=expire,
    )
    assert prepay.prepay_id == again.prepay_id
    tx = await gw.query("YB1")
    assert tx is not None and tx.trade_state == "NOTPAY"
    assert await gw.query("NOPE") is None
    await sim.pay("YB1", notify=False)
    with pytest.raises(GatewayError) as err:
        await gw.close("YB1")
    assert err.value.gateway_code == "ORDERPAID"
    refund = await gw.refund(
        out_trade_no="YB1",
        out_refund_no="R1",
        refund_fen=100,
        total_fen=40000,
        reason="r",
        notify_url="https://x.test/n",
    )
    same = await gw.refund(
        out_trade_no="YB1",
        out_refund_no="R1",
        refund_fen=100,
        total_fen=40000,
        reason="r",
        notify_url="https://x.test/n",
    )
    assert refund.refund_id == same.refund_id and sim.book.orders["YB1"].refunded_fen == 100
    clock.advance(days=1)
    rows = parse_bill(await gw.trade_bill(date(2025, 11, 20)))
    assert [(r.kind, r.amount_fen) for r in rows] == [("payment", 40000), ("refund", 100)]


async def test_adapter_rejects_unsigned_or_wrongly_signed_answers(setup):
    clock, keys, sim, _ = setup
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sim.signer.platform_key = impostor  # answers now signed by a key we do not trust
    rt = simulated_runtime(
        keys, clock, notify_url="https://x.test/n", order_ttl_s=1800, simulator=sim
    )
    with pytest.raises(GatewayError) as err:
        await rt.gateway.query("YB1")
    assert err.value.gateway_code == "RESPONSE_SIGNATURE_INVALID"


async def test_simulator_rejects_requests_not_signed_by_the_merchant(setup):
    clock, keys, sim, rt = setup
    from backend.payments.wechatpay import WechatPayClient

    stranger = WechatPayClient(
        mchid=keys.mchid,
        appid=keys.appid,
        merchant_serial=keys.merchant_serial,
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        platform_keys=rt.platform_keys,
        base_url=sim.base_url,
        now=lambda: clock.now().timestamp(),
        http=httpx.AsyncClient(base_url=sim.base_url, transport=sim.transport()),
    )
    with pytest.raises(GatewayError) as err:
        await stranger.query("YB1")
    assert err.value.gateway_code == "SIGN_ERROR"


async def test_bill_with_a_wrong_hash_is_refused(setup):
    clock, keys, sim, rt = setup
    inner = sim.transport()

    async def tamper(request: httpx.Request) -> httpx.Response:
        response = await inner.handle_async_request(request)
        if request.url.path == "/v3/billdownload/file":
            return httpx.Response(200, content=b"forged bill")
        return response

    from backend.payments.wechatpay import WechatPayClient

    client = WechatPayClient(
        mchid=keys.mchid,
        appid=keys.appid,
        merchant_serial=keys.merchant_serial,
        private_key=keys.merchant_key,
        platform_keys=rt.platform_keys,
        base_url=sim.base_url,
        now=lambda: clock.now().timestamp(),
        http=httpx.AsyncClient(base_url=sim.base_url, transport=httpx.MockTransport(tamper)),
    )
    with pytest.raises(GatewayError) as err:
        await client.trade_bill(date(2025, 11, 19))
    assert err.value.gateway_code == "BILL_HASH_MISMATCH"
