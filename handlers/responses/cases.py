"""Response models of cases: summaries, tasks, queues, statistics, the service catalogue."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from handlers.responses.base import Out


class CaseApplicant(Out):
    name: str


class CaseMaterial(Out):
    key: str
    name: str
    is_key: bool
    status: str


class CaseAuthorisation(Out):
    method: str
    status: str
    form_number: str | None
    form_ref: str | None
    decided_at: str | None


class CaseDocumentContent(Out):
    case_number: str
    service: str
    applicant: str
    outcome: str
    details: dict[str, Any]
    reason: str


class CaseDocument(Out):
    title: str
    outcome: str
    verification_code: str
    delivery_method: str
    issued_at: str
    content: CaseDocumentContent


class CaseRating(Out):
    score: int
    comment: str
    at: str


class TaskOut(Out):
    id: int
    case_id: int
    level: int
    category: str
    status: str
    service_code: str
    station_id: int | None
    due_at: str
    escalated: bool
    holder_id: int | None
    claimed_at: str | None


class CaseSummary(Out):
    id: int
    number: str
    service_code: str
    service_name: str
    definition_version: int
    state: str
    state_label: str
    version: int
    channel: str
    station_id: int | None
    submitted_at: str | None
    due_at: str | None
    sla: str | None
    completed_at: str | None
    outcome: str | None


class CaseOut(CaseSummary):
    category: str
    applicant: CaseApplicant
    assisted: bool
    agent_name: str
    form: dict[str, Any]
    amount: str | None
    materials: list[CaseMaterial]
    open_gaps: int
    tolerance_due_at: str | None
    review_level: int
    required_levels: int
    reason_code: str | None
    reason_text: str | None
    delivery_method: str
    authorisation: CaseAuthorisation | None
    document: CaseDocument | None
    rating: CaseRating | None
    tasks: list[TaskOut]


class CaseStatsOverall(Out):
    """Counts, and rates and averages (null when there is nothing to average)."""

    cases: int
    app_cases: int
    app_share: float | None
    completed: int  # issued only
    ended_without_issue: int  # withdrawn, not accepted, rejected, closed
    on_time_rate: float | None
    late_completed: int
    overdue_open: int
    avg_handling_hours: float | None
    avg_limit_hours: float | None
    ratings: int
    avg_rating: float | None
    satisfaction_rate: float | None


class CaseStatsGroup(CaseStatsOverall):
    key: str | int | None  # a channel, service or period; a station id (none: the app)


class CaseStatsOut(Out):
    from_: str = Field(alias="from")
    to: str
    overall: CaseStatsOverall
    # only when grouped
    group_by: str | None = None
    groups: list[CaseStatsGroup] = Field(default_factory=list)
    period: str | None = None


class CaseTimelineItem(Out):
    at: str
    action: str
    from_: str | None = Field(alias="from")
    to: str
    text: str | None
    actor_id: int | None = None
    actor_role: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None


class CaseTimelineOut(Out):
    items: list[CaseTimelineItem]


class QueueTask(TaskOut):
    case: CaseSummary


class EscalationsOut(Out):
    total: int
    items: list[QueueTask]


class MyInboxItem(Out):
    id: int
    case_id: int | None
    title: str
    body: str
    created_at: str
    read: bool


class MyInboxOut(Out):
    total: int
    unread: int
    items: list[MyInboxItem]


class MyPendingAuthorisationsOut(Out):
    items: list[CaseSummary]


class ReadMessageOut(Out):
    read: bool


class ReviewQueueOut(Out):
    items: list[QueueTask]
    page: int
    size: int
    total: int
    total_exact: bool


class CaseListOut(Out):
    total: int
    items: list[CaseSummary]


class VerifyDocumentOut(Out):
    valid: bool
    title: str
    outcome: str
    verification_code: str
    delivery_method: str
    issued_at: str
    content: CaseDocumentContent


class ServiceFieldOut(Out):
    name: str
    label: str
    type: str
    required: bool
    when: Any = None
    choices: list[str]


class ServiceMaterialOut(Out):
    key: str
    name: str
    is_key: bool
    when: Any = None


class ServiceOut(Out):
    code: str
    version: int
    name: str
    category: str
    channels: list[str]
    fields: list[ServiceFieldOut]
    materials: list[ServiceMaterialOut]
    instant_rule: Any = None
    deliveries: list[str]
    tolerance: bool


class ServiceListOut(Out):
    items: list[ServiceOut]
