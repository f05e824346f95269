"""Access tokens this process has already verified."""

from __future__ import annotations

from collections import OrderedDict

from backend.identity.principal import Principal


class VerifiedTokens:
    """Access tokens this process has already verified, with their principal and expiry.

    A phone reuses its access token for every request of the next 15 minutes; remembering
    the verified result (keyed by the whole token, signature included) saves decoding and
    checking the signature each time. Expiry and revocation are still checked per request.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str) -> tuple[Principal, float] | None:
        return self._entries.get(token)

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        self._entries[token] = (principal, expires_at)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
