"""Which workflow definition and which case policy a case runs under."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from backend.cases.errors import UnknownReason
from backend.cases.models import Case
from backend.clock import CHINA_TZ
from backend.container import Container
from config.policy import CaseWorkflowPolicy
from workflows.definition import Definition


def definition_of(c: Container, case: Case) -> Definition:
    """The definition version the case was submitted under (not necessarily the latest)."""
    return c.definitions.get(case.service_code, case.definition_version)


def local_date(c: Container, moment: datetime | None = None) -> date:
    """The local (China) date of ``moment``, by default now by the container's clock."""
    return (moment or c.clock.now()).astimezone(CHINA_TZ).date()


def workflow_policy(c: Container, on: date | None = None) -> CaseWorkflowPolicy:
    return c.policies.case_workflow.at(on or local_date(c))


def coded_reason(c: Container, kind: str, code: str | None) -> str:
    """The configured text of a coded reason (refusal, correction, ...); an unknown code is
    refused with the allowed ones."""
    reasons: Mapping[str, str] = workflow_policy(c).reasons[kind]  # type: ignore[index]
    if not code or code not in reasons:
        raise UnknownReason(allowed=dict(reasons))
    return reasons[code]
