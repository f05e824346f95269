"""WeChat face verification (人脸核身 2.0): the cert_hash rule, the answers that count as a
pass, the simulator's three outcomes, and the HTTP adapter speaking the simulator's protocol."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from backend.clock import FixedClock
from backend.identity.face import (
    CertInfo,
    FaceOutcome,
    FaceVerificationUnavailable,
    LocalFaceVerifier,
    WeChatFaceVerifier,
    parse_query_verify_info,
)

CERT = CertInfo("张三", "310101199801011234")


def test_cert_hash_follows_the_documented_rule():
    # The worked example in WeChat's queryverifyinfo documentation.
    assert CERT.cert_hash == "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b"


@pytest.mark.parametrize(
    ("payload", "passed"),
    [
        ({"errcode": 0, "errmsg": "ok", "verify_ret": 10000}, True),
        ({"errcode": 0, "errmsg": "ok", "verify_ret": 90011}, False),
        ({"errcode": 0, "errmsg": "ok"}, False),
        ({"errcode": 40097, "errmsg": "invalid args", "verify_ret": 10000}, False),
        ({"errcode": 0, "errmsg": "ok", "verify_ret": "10000"}, False),
    ],
)
def test_only_errcode_0_with_verify_ret_10000_passes(payload, passed):
    assert parse_query_verify_info(payload).passed is passed


def test_wechat_busy_is_a_503_not_a_refusal():
    with pytest.raises(FaceVerificationUnavailable):
        parse_query_verify_info({"errcode": -1, "errmsg": "system error"})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 1, tzinfo=UTC))


async def _run(verifier, outcome: FaceOutcome | None, sim: LocalFaceVerifier) -> bool:
    session = await verifier.get_verify_id("yb-test-0001", CERT, "openid-1")
    assert session.expires_in == 3600
    if outcome is not None:
        assert sim.face_check(session.verify_id, outcome)
    result = await verifier.query_verify_info(
        session.verify_id, "yb-test-0001", CERT.cert_hash, "openid-1"
    )
    return result.passed


@pytest.mark.parametrize(
    ("outcome", "passed"),
    [
        (FaceOutcome.PASS, True),
        (FaceOutcome.FAIL, False),
        (FaceOutcome.OTHER_PERSON, False),
        (None, False),  # the user never finished the face check
    ],
)
async def test_simulator_answers_pass_fail_and_other_person(clock, outcome, passed):
    sim = LocalFaceVerifier(clock)
    assert await _run(sim, outcome, sim) is passed


async def test_simulator_refuses_a_query_for_another_card_or_user(clock):
    sim = LocalFaceVerifier(clock)
    session = await sim.get_verify_id("yb-test-0002", CERT, "openid-1")
    sim.face_check(session.verify_id, FaceOutcome.PASS)
    other = CertInfo("李四", "110105194912310025")
    for args in (
        (session.verify_id, "yb-test-0002", other.cert_hash, "openid-1"),
        (session.verify_id, "yb-test-0002", CERT.cert_hash, "openid-2"),
        (session.verify_id, "yb-test-9999", CERT.cert_hash, "openid-1"),
    ):
        result = await sim.query_verify_info(*args)
        assert not result.passed and result.errcode != 0


async def test_simulator_sessions_expire_with_the_clock(clock):
    sim = LocalFaceVerifier(clock)
    session = await sim.get_verify_id("yb-test-0003", CERT, "openid-1")
    clock.advance(seconds=3601)
    assert not sim.face_check(session.verify_id, FaceOutcome.PASS)


async def test_the_http_adapter_speaks_the_simulators_protocol(clock):
    """The adapter's requests, answered by the simulator over HTTP: paths, the access token in
    the query string, JSON bodies."""
    sim = LocalFaceVerifier(clock)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/cgi-bin/token":
            assert request.url.params["grant_type"] == "client_credential"
            return httpx.Response(200, json={"access_token": "AT", "expires_in": 7200})
        assert request.url.params["access_token"] == "AT"
        body = json.loads(request.content)
        answer = {
            "/cityservice/face/identify/getverifyid": sim._get_verify_id,
            "/cityservice/face/identify/queryverifyinfo": sim._query,
        }[request.url.path](body)
        return httpx.Response(200, json=answer)

    adapter = WeChatFaceVerifier(
        "wxappid",
        "secret",
        "https://api.weixin.qq.com",
        clock,
        transport=httpx.MockTransport(handler),
    )
    assert await _run(adapter, FaceOutcome.PASS, sim) is True
    assert seen == [
        "/cgi-bin/token",
        "/cityservice/face/identify/getverifyid",
        "/cityservice/face/identify/queryverifyinfo",
    ]  # the access token is reused
