"""Start-up checks of the workflow definitions against the vocabulary, the policy and the
registered service hooks."""

from __future__ import annotations

from backend.cases.hooks import ServiceHookRegistry
from backend.cases.time_limits import calendar_for
from backend.vocabulary_check import check_vocabulary
from config.policy import Policies, PolicyError
from workflows.registry import Registry


def check_definitions(
    policies: Policies, definitions: Registry, hooks: ServiceHookRegistry
) -> None:
    """At start-up: every name is in the vocabulary (backend.vocabulary_check), every
    definition's time limit and the calendar resolve, and every service that needs its
    domain's hooks has them (registered by ``backend.bootstrap``)."""
    check_vocabulary(policies, hooks.owners())
    calendar_for(policies)
    for defn in definitions.all():
        needs_hooks = bool(defn.derived) or any(
            "service_ready" in t.guards for t in defn.transitions
        )
        if needs_hooks and hooks.lookup(defn.code) is None:
            raise RuntimeError(f"service {defn.code} has no registered hooks (backend.bootstrap)")
        if defn.sla.limit is not None:
            continue
        for version in policies.case_workflow.versions:
            if defn.code not in version.time_limits:
                raise PolicyError(
                    f"case_workflow.yaml: version {version.effective_from}: field "
                    f"time_limits.{defn.code}: missing for service {defn.name}"
                )
