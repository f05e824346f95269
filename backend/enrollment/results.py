"""What the enrollment services answer: typed results, serialised by the handlers' response
models (``handlers/responses/enrollment.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryChangeView:
    """A proposed change of a person's subsidy category, and its decision once made."""

    id: int
    person: dict[str, object]  # backend.identity.persons.person_view
    category: str | None  # None: the change ends the current category
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


@dataclass(frozen=True)
class CategoryDecision(CategoryChangeView):
    """A decided change, with the category in force today after it."""

    current_category: str | None


@dataclass(frozen=True)
class CategoryChanges:
    items: list[CategoryChangeView]
