"""Mini-program login: exchange a ``wx.login()`` code for the user's openid (code2session).

Two providers speak the same protocol and share its parsing:
- :class:`WeChatIdentityProvider` calls ``/sns/jscode2session`` on the WeChat API;
- :class:`LocalIdentityProvider` is the simulator of the embedded default and the tests: it
  issues single-use codes valid for five minutes, like WeChat, and answers with the same JSON.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from backend.errors import DomainError, Unauthorized
from config.settings import Settings

CODE_TTL_S = 300


@dataclass(frozen=True)
class MiniProgramSession:
    openid: str
    unionid: str | None = None


class IdentityProviderUnavailable(DomainError):
    status = 503
    code = "IDP_UNAVAILABLE"
    message = "微信登录服务暂时不可用，请稍后重试"


class IdentityProvider(Protocol):
    async def code_to_session(self, code: str) -> MiniProgramSession: ...


# errcodes documented for jscode2session
_INVALID_CODE = {40029, 40163}  # invalid code, code been used
_RATE_LIMITED = 45011
_BLOCKED = 40226  # high-risk user


def parse_code2session(payload: dict[str, Any]) -> MiniProgramSession:
    errcode = int(payload.get("errcode") or 0)
    if errcode in _INVALID_CODE:
        raise Unauthorized("登录凭证无效或已使用，请重新进入小程序", code="LOGIN_CODE_INVALID")
    if errcode == _BLOCKED:
        raise Unauthorized("该微信账号存在风险，暂不能登录", code="LOGIN_BLOCKED")
    if errcode == _RATE_LIMITED or errcode != 0:
        raise IdentityProviderUnavailable(errcode=errcode)
    openid = payload.get("openid")
    if not isinstance(openid, str) or not openid:
        raise IdentityProviderUnavailable(errcode="no_openid")
    return MiniProgramSession(openid=openid, unionid=payload.get("unionid"))


class WeChatIdentityProvider:
    def __init__(self, appid: str, secret: str, api_base: str, timeout_s: float = 5.0) -> None:
        self._params = {"appid": appid, "secret": secret, "grant_type": "authorization_code"}
        self._client = httpx.AsyncClient(base_url=api_base, timeout=timeout_s)

    async def code_to_session(self, code: str) -> MiniProgramSession:
        try:
            response = await self._client.get(
                "/sns/jscode2session", params={**self._params, "js_code": code}
            )
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityProviderUnavailable() from exc
        return parse_code2session(payload)


class LocalIdentityProvider:
    """Simulates WeChat: ``issue_code(user)`` plays ``wx.login()`` on the phone."""

    def __init__(self, appid: str = "wx-local-simulator") -> None:
        self._appid = appid
        self._codes: dict[str, tuple[str, float]] = {}

    def issue_code(self, user: str) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = (user, time.monotonic() + CODE_TTL_S)
        return code

    def openid_for(self, user: str) -> str:
        return "o" + hashlib.sha256(f"{self._appid}:{user}".encode()).hexdigest()[:27]

    def _answer(self, code: str) -> dict[str, Any]:
        entry = self._codes.pop(code, None)
        if entry is None or entry[1] < time.monotonic():
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {"openid": self.openid_for(entry[0]), "session_key": secrets.token_hex(12)}

    async def code_to_session(self, code: str) -> MiniProgramSession:
        return parse_code2session(self._answer(code))


def identity_provider_for(settings: Settings) -> IdentityProvider:
    if settings.wechat_appid and settings.wechat_secret:
        return WeChatIdentityProvider(
            settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base
        )
    return LocalIdentityProvider()
