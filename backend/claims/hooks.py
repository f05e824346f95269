"""The claims domain's hooks on the case engine: readiness before a decision, payout after."""

from __future__ import annotations

from backend.cases.hooks import ServiceHookRegistry, ServiceHooks
from backend.claims.access import OWNER, SERVICE_CODE
from backend.claims.payout import after_transition
from backend.claims.review import readiness


def register_hooks(hooks: ServiceHookRegistry) -> None:
    hooks.register(
        SERVICE_CODE,
        ServiceHooks(readiness=readiness, after_transition=after_transition, owner=OWNER),
    )
