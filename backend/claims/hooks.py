"""The claims domain's hooks on the case engine: readiness before a decision, payout after."""

from __future__ import annotations

from backend.cases import hooks
from backend.claims.access import OWNER, SERVICE_CODE
from backend.claims.payout import after_transition
from backend.claims.review import readiness

hooks.register(
    SERVICE_CODE,
    hooks.ServiceHooks(readiness=readiness, after_transition=after_transition, owner=OWNER),
)
