"""What the case services answer: typed results, serialised by the handlers' response models
(``handlers/responses/cases.py``) and shown by the console's pages. Moments are ISO strings in
UTC (``backend.clock.iso``), as every response carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaseSummary:
    """A case in a list: what it is, where it stands, its time limit."""

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
    sla: str | None  # ok, warning, overdue, paused while open; on_time or late once closed
    completed_at: str | None
    outcome: str | None


@dataclass(frozen=True)
class ApplicantName:
    name: str  # masked


@dataclass(frozen=True)
class MaterialStatus:
    key: str
    name: str
    is_key: bool
    status: str


@dataclass(frozen=True)
class AuthorisationStatus:
    """The applicant's authorisation of an assisted case."""

    method: str
    status: str
    form_number: str | None
    form_ref: str | None
    decided_at: str | None


@dataclass(frozen=True)
class IssuedDocument:
    title: str
    outcome: str
    verification_code: str
    delivery_method: str
    issued_at: str | None
    content: dict[str, Any]  # as stored at issuance


@dataclass(frozen=True)
class VerifiedDocument(IssuedDocument):
    """A document found by its verification code (only masked facts)."""

    valid: bool


@dataclass(frozen=True)
class RatingGiven:
    score: int
    comment: str
    at: str | None


@dataclass(frozen=True)
class TaskSummary:
    """A review task: its level, category, holder and time limit."""

    id: int
    case_id: int
    level: int
    category: str
    status: str
    service_code: str
    station_id: int | None
    due_at: str | None
    escalated: bool
    holder_id: int | None
    claimed_at: str | None


@dataclass(frozen=True)
class QueuedTask(TaskSummary):
    """A task in a queue, with its case."""

    case: CaseSummary


@dataclass(frozen=True)
class CaseDetail(CaseSummary):
    """A case as its applicant or a member of staff sees it (the form masked)."""

    category: str
    applicant: ApplicantName
    assisted: bool
    agent_name: str
    form: dict[str, Any]
    amount: str | None
    materials: list[MaterialStatus]
    open_gaps: int
    tolerance_due_at: str | None
    review_level: int
    required_levels: int
    reason_code: str | None
    reason_text: str | None
    delivery_method: str
    authorisation: AuthorisationStatus | None
    document: IssuedDocument | None
    rating: RatingGiven | None
    tasks: list[TaskSummary]  # staff only; empty for citizens


@dataclass(frozen=True)
class CasePage:
    """A page of cases and how many there are in all."""

    total: int
    items: list[CaseSummary]


@dataclass(frozen=True)
class TaskPage:
    """A page of queued tasks and how many there are in all."""

    total: int
    items: list[QueuedTask]


@dataclass(frozen=True)
class ReviewQueue:
    """A reviewer's queue page. The total is counted up to a cap (``total_exact`` false
    beyond it), and not at all where the caller does not show it (None)."""

    items: list[QueuedTask]
    page: int
    size: int
    total: int | None
    total_exact: bool | None


@dataclass(frozen=True)
class InboxItem:
    id: int
    case_id: int | None
    title: str
    body: str
    created_at: str | None
    read: bool


@dataclass(frozen=True)
class Inbox:
    total: int
    unread: int
    items: list[InboxItem]


@dataclass(frozen=True)
class UploadView:
    """An uploaded file, before or after a case names it as a material."""

    id: int
    file_ref: str  # what a case's materials name: upload:<id>
    content_type: str
    size_bytes: int
    case_id: int | None
    created_at: str | None


@dataclass(frozen=True)
class MaterialWithUpload:
    key: str
    name: str
    is_key: bool
    status: str
    upload: UploadView | None


@dataclass(frozen=True)
class CaseMaterials:
    case_id: int
    items: list[MaterialWithUpload]
