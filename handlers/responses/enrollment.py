"""Response models of enrollment: persons, status, quotes, subsidy categories."""

from __future__ import annotations

from handlers.responses.base import Out


class CollectionPeriod(Out):
    start: str
    end: str


class PersonOut(Out):
    id: int
    name: str
    id_number: str
    gender: str
    birth_date: str


class EnrollmentPaid(Out):
    contribution_fen: int
    subsidy_fen: int
    due_fen: int
    channel: str


class EnrollmentQuote(Out):
    year: int
    contribution_fen: int
    subsidy_category: str | None
    subsidy_category_name: str | None
    subsidy_fen: int
    due_fen: int
    due_yuan: str


class EnrollmentStatusOut(Out):
    person: PersonOut
    year: int
    status: str
    order_id: int | None
    enrolled_at: str | None
    paid: EnrollmentPaid | None = None
    quote: EnrollmentQuote | None = None


class MyStatusOut(Out):
    year: int
    collection_period: CollectionPeriod | None  # none published for that year
    items: list[EnrollmentStatusOut]


class CategoryChangeOut(Out):
    id: int
    person: PersonOut
    category: str | None  # null: the change ends the current category
    valid_from: str
    valid_to: str | None
    evidence_number: str
    evidence_type: str
    note: str
    status: str
    proposed_by: int
    proposed_at: str
    decided_by: int | None
    decided_at: str | None
    decision_note: str


class CategoryDecisionOut(CategoryChangeOut):
    current_category: str | None


class CategoryChangesOut(Out):
    items: list[CategoryChangeOut]
