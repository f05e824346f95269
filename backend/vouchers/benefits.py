"""What a citizen is told about their special benefits (``GET /me/benefits``).

The person's chronic-disease qualifications (门诊慢特病) and remote-care filings (异地就医备案)
that cover today. Cheap: two indexed queries on the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.chronic.results import CoveringQualification
from backend.chronic.service import active_qualifications
from backend.container import Container
from backend.filings.results import CoveringFiling
from backend.filings.service import active_filings


@dataclass(frozen=True)
class Benefits:
    chronic_qualifications: list[CoveringQualification] = field(default_factory=list)
    remote_care_filings: list[CoveringFiling] = field(default_factory=list)


async def active_benefits(c: Container, person_id: int) -> Benefits:
    return Benefits(
        chronic_qualifications=await active_qualifications(c, person_id),
        remote_care_filings=await active_filings(c, person_id),
    )
