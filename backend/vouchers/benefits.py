"""What a terminal is told about the holder's special benefits when a code is verified.

The person's chronic-disease qualifications (门诊慢特病) and remote-care filings (异地就医备案)
that cover today. Cheap: two indexed queries on the person, run on every verification.
"""

from __future__ import annotations

from typing import Any

from backend.container import Container


async def active_benefits(c: Container, person_id: int) -> dict[str, list[dict[str, Any]]]:
    from backend.chronic.service import active_qualifications
    from backend.filings.service import active_filings

    return {
        "chronic_qualifications": await active_qualifications(c, person_id),
        "remote_care_filings": await active_filings(c, person_id),
    }
