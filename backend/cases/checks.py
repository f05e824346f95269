"""Start-up checks of the workflow definitions against the vocabulary, the policy and the
registered service hooks."""

from __future__ import annotations

import importlib

from backend.cases import hooks
from backend.cases.policy import definitions
from backend.cases.time_limits import calendar_for
from config.policy import Policies, PolicyError

# Domain modules that register hooks when imported; loaded at start-up by check_definitions,
# so that no process (web worker, `yibao worker`) runs a service without its domain.
SERVICE_DOMAINS = (
    "backend.identity.info_change",
    "backend.filings.service",
    "backend.chronic.service",
    "backend.claims.hooks",
)


def check_definitions(policies: Policies) -> None:
    """At start-up: every name is in the vocabulary (backend.vocabulary_check), every
    registered definition's time limit and the calendar resolve, and every service that needs
    its domain's hooks has them."""
    for module in SERVICE_DOMAINS:
        importlib.import_module(module)
    from backend.vocabulary_check import check_vocabulary

    check_vocabulary(policies, hooks.owners())
    calendar_for(policies)
    for defn in definitions().all():
        needs_hooks = bool(defn.derived) or any(
            "service_ready" in t.guards for t in defn.transitions
        )
        if needs_hooks and hooks.lookup(defn.code) is None:
            raise RuntimeError(f"service {defn.code} has no registered hooks (SERVICE_DOMAINS)")
        if defn.sla.limit is not None:
            continue
        for version in policies.case_workflow.versions:
            if defn.code not in version.time_limits:
                raise PolicyError(
                    f"case_workflow.yaml: version {version.effective_from}: field "
                    f"time_limits.{defn.code}: missing for service {defn.name}"
                )
