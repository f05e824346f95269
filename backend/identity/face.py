"""WeChat face verification (微信人脸核身 2.0) for real-name binding: the protocol, the HTTP
adapter and the local simulator.

The protocol, as WeChat documents it for mini-programs:

1. The backend calls ``POST /cityservice/face/identify/getverifyid?access_token=…`` with
   ``{"out_seq_no", "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name", "cert_no"},
   "openid"}``; ``out_seq_no`` is 5-32 of ``[A-Za-z0-9_-]``, unique per appid. The answer is
   ``{"errcode": 0, "errmsg": "ok", "verify_id", "expires_in"}`` (default 3600 s).
2. The mini-program calls ``wx.requestFacialVerify({verifyId})``: the user's face is checked
   against the photo on record for that ID card. Its success only means "finished".
3. The backend calls ``POST /cityservice/face/identify/queryverifyinfo?access_token=…`` with
   ``{"verify_id", "out_seq_no", "cert_hash", "openid"}`` (the same values as in step 1;
   ``cert_hash`` is below). WeChat checks them: a different ID card, name or user gives an
   ``errcode``, not a result. Passed only when ``errcode == 0 and verify_ret == 10000``; other
   ``verify_ret`` values (900xx) say why not (cancelled, no camera, invalid face data, timeout).

``cert_hash`` = lowercase hex SHA-256 of ``cert_type=B64&cert_name=B64&cert_no=B64``, each value
standard base64 of its UTF-8 bytes.

The access token comes from ``GET /cgi-bin/token?grant_type=client_credential`` and is reused
until shortly before its ``expires_in``.

:class:`LocalFaceVerifier` answers the same JSON for ``make run`` and the tests; it can be told
what the face check found: the person (pass), no match (fail), or the check was made in the name
of a different person (then WeChat's own consistency check refuses the query).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import httpx

from backend.clock import Clock
from backend.errors import DomainError

CERT_TYPE = "IDENTITY_CARD"
VERIFY_PASSED = 10000
DEFAULT_EXPIRES_IN_S = 3600
OUT_SEQ_NO = re.compile(r"^[A-Za-z0-9_-]{5,32}$")
_SYSTEM_BUSY = {-1, 45009}  # WeChat's "system busy" and "api freq out of limit"
_INVALID_ARGS = 40097  # WeChat's general "invalid args"
_TOKEN_MARGIN_S = 300

# Why a face check did not pass (verify_ret), as the user should read it
_VERIFY_RET_REASONS: dict[int, str] = {
    90001: "设备不支持人脸检测",
    90002: "已取消人脸核身",
    90008: "未授权使用相机",
    90011: "人脸数据采集无效，请在光线充足处正对手机重试",
    90017: "人脸核身超时",
    90109: "设备不支持人脸检测",
}


class FaceVerificationUnavailable(DomainError):
    status = 503
    code = "FACE_VERIFICATION_UNAVAILABLE"
    message = "人脸核身服务暂时不可用，请稍后重试或到医保服务站办理"


@dataclass(frozen=True)
class CertInfo:
    name: str
    id_number: str

    def as_json(self) -> dict[str, str]:
        return {"cert_type": CERT_TYPE, "cert_name": self.name, "cert_no": self.id_number}

    @property
    def cert_hash(self) -> str:
        parts = [
            f"{key}={base64.b64encode(value.encode()).decode()}"
            for key, value in self.as_json().items()
        ]
        return hashlib.sha256("&".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class VerifySession:
    verify_id: str
    expires_in: int


@dataclass(frozen=True)
class FaceResult:
    passed: bool
    errcode: int
    verify_ret: int | None

    @property
    def reason(self) -> str:
        if self.errcode != 0:
            return "核身信息与本次申请不一致"
        return _VERIFY_RET_REASONS.get(self.verify_ret or 0, "人脸核身未通过")


class FaceVerifier(Protocol):
    async def get_verify_id(
        self, out_seq_no: str, cert: CertInfo, openid: str
    ) -> VerifySession: ...

    async def query_verify_info(
        self, verify_id: str, out_seq_no: str, cert_hash: str, openid: str
    ) -> FaceResult: ...


def get_verify_id_request(out_seq_no: str, cert: CertInfo, openid: str) -> dict[str, Any]:
    if not OUT_SEQ_NO.match(out_seq_no):
        raise ValueError("out_seq_no must be 5-32 of [A-Za-z0-9_-]")
    return {"out_seq_no": out_seq_no, "cert_info": cert.as_json(), "openid": openid}


def query_verify_info_request(
    verify_id: str, out_seq_no: str, cert_hash: str, openid: str
) -> dict[str, str]:
    return {
        "verify_id": verify_id,
        "out_seq_no": out_seq_no,
        "cert_hash": cert_hash,
        "openid": openid,
    }


def _errcode(payload: dict[str, Any]) -> int:
    try:
        return int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        raise FaceVerificationUnavailable(errcode="malformed") from None


def parse_get_verify_id(payload: dict[str, Any]) -> VerifySession:
    errcode = _errcode(payload)
    verify_id = payload.get("verify_id")
    if errcode != 0 or not isinstance(verify_id, str) or not 0 < len(verify_id) <= 256:
        raise FaceVerificationUnavailable(errcode=errcode)
    expires_in = payload.get("expires_in")
    if not isinstance(expires_in, int) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN_S
    return VerifySession(verify_id=verify_id, expires_in=expires_in)


def parse_query_verify_info(payload: dict[str, Any]) -> FaceResult:
    errcode = _errcode(payload)
    if errcode in _SYSTEM_BUSY:
        raise FaceVerificationUnavailable(errcode=errcode)
    verify_ret = payload.get("verify_ret")
    verify_ret = verify_ret if isinstance(verify_ret, int) else None
    return FaceResult(
        passed=errcode == 0 and verify_ret == VERIFY_PASSED, errcode=errcode, verify_ret=verify_ret
    )


class WeChatFaceVerifier:
    """Calls WeChat's face verification API with the mini-program's access token."""

    def __init__(
        self,
        appid: str,
        secret: str,
        api_base: str,
        clock: Clock,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._appid, self._secret = appid, secret
        self._clock = clock
        self._client = httpx.AsyncClient(base_url=api_base, timeout=timeout_s, transport=transport)
        self._token: tuple[str, datetime] | None = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise FaceVerificationUnavailable() from exc
        if not isinstance(payload, dict):
            raise FaceVerificationUnavailable(errcode="malformed")
        return payload

    async def _access_token(self) -> str:
        now = self._clock.now()
        if self._token is not None and self._token[1] > now:
            return self._token[0]
        payload = await self._call(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
            },
        )
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise FaceVerificationUnavailable(errcode=_errcode(payload))
        self._token = (token, now + timedelta(seconds=max(expires_in - _TOKEN_MARGIN_S, 60)))
        return token

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        params = {"access_token": await self._access_token()}
        return await self._call("POST", path, params=params, json=body)

    async def get_verify_id(self, out_seq_no: str, cert: CertInfo, openid: str) -> VerifySession:
        body = get_verify_id_request(out_seq_no, cert, openid)
        return parse_get_verify_id(await self._post("/cityservice/face/identify/getverifyid", body))

    async def query_verify_info(
        self, verify_id: str, out_seq_no: str, cert_hash: str, openid: str
    ) -> FaceResult:
        body = query_verify_info_request(verify_id, out_seq_no, cert_hash, openid)
        return parse_query_verify_info(
            await self._post("/cityservice/face/identify/queryverifyinfo", body)
        )


class FaceOutcome(StrEnum):
    """What the simulator's face check finds (it plays wx.requestFacialVerify)."""

    PASS = "pass"  # the face is the ID card holder's
    FAIL = "fail"  # no usable face, or not the holder
    OTHER_PERSON = "other_person"  # the check ran in the name of a different person


@dataclass
class _SimSession:
    out_seq_no: str
    cert_hash: str
    openid: str
    expires_at: datetime
    outcome: FaceOutcome | None = None


class LocalFaceVerifier:
    """The simulator: WeChat's answers for getverifyid and queryverifyinfo, with the session
    lifetime timed by the injected clock. :meth:`face_check` plays the user's face check."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sessions: dict[str, _SimSession] = {}
        self._seq_nos: set[str] = set()

    def _get_verify_id(self, body: dict[str, Any]) -> dict[str, Any]:
        out_seq_no, cert = body.get("out_seq_no"), body.get("cert_info") or {}
        if (
            not isinstance(out_seq_no, str)
            or not OUT_SEQ_NO.match(out_seq_no)
            or out_seq_no in self._seq_nos
            or cert.get("cert_type") != CERT_TYPE
            or not body.get("openid")
        ):
            return {"errcode": _INVALID_ARGS, "errmsg": "invalid args"}
        self._seq_nos.add(out_seq_no)
        verify_id = "sim" + secrets.token_urlsafe(24)
        self._sessions[verify_id] = _SimSession(
            out_seq_no=out_seq_no,
            cert_hash=CertInfo(cert["cert_name"], cert["cert_no"]).cert_hash,
            openid=body["openid"],
            expires_at=self._clock.now() + timedelta(seconds=DEFAULT_EXPIRES_IN_S),
        )
        return {
            "errcode": 0,
            "errmsg": "ok",
            "verify_id": verify_id,
            "expires_in": DEFAULT_EXPIRES_IN_S,
        }

    def face_check(self, verify_id: str, outcome: FaceOutcome) -> bool:
        """The user's face check in the mini-program; False when the verify_id is unknown or
        expired (wx.requestFacialVerify fails)."""
        session = self._sessions.get(verify_id)
        if session is None or session.expires_at <= self._clock.now():
            return False
        session.outcome = outcome
        if outcome is FaceOutcome.OTHER_PERSON:
            session.cert_hash = CertInfo("他人", "000000000000000000").cert_hash
        return True

    def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(str(body.get("verify_id")))
        if (
            session is None
            or session.out_seq_no != body.get("out_seq_no")
            or session.cert_hash != body.get("cert_hash")
            or session.openid != body.get("openid")
        ):
            return {"errcode": _INVALID_ARGS, "errmsg": "invalid args"}
        ret = {None: 90002, FaceOutcome.PASS: VERIFY_PASSED}.get(session.outcome, 90011)
        return {"errcode": 0, "errmsg": "ok", "verify_ret": ret}

    async def get_verify_id(self, out_seq_no: str, cert: CertInfo, openid: str) -> VerifySession:
        return parse_get_verify_id(
            self._get_verify_id(get_verify_id_request(out_seq_no, cert, openid))
        )

    async def query_verify_info(
        self, verify_id: str, out_seq_no: str, cert_hash: str, openid: str
    ) -> FaceResult:
        body = query_verify_info_request(verify_id, out_seq_no, cert_hash, openid)
        return parse_query_verify_info(self._query(body))


def face_verifier_for(
    appid: str | None, secret: str | None, api_base: str, clock: Clock
) -> FaceVerifier:
    if appid and secret:
        return WeChatFaceVerifier(appid, secret, api_base, clock)
    return LocalFaceVerifier(clock)
