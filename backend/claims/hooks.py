"""The claims domain's hooks on the case engine: readiness before a decision, payout after."""

from __future__ import annotations

from backend.cases import service as cases
from backend.claims.access import OWNER, SERVICE_CODE
from backend.claims.payout import after_transition
from backend.claims.review import readiness

cases.register_hooks(
    SERVICE_CODE,
    cases.ServiceHooks(readiness=readiness, after_transition=after_transition, owner=OWNER),
)
