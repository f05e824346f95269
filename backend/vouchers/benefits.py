"""What a terminal is told about the holder's special benefits when a code is verified.

Empty until the chronic-disease qualification (门诊慢特病) and remote-care filing (异地就医备案)
services exist: they fill this one function with the person's *active* qualifications and
filings. Keep it cheap: it runs on every verification.
"""

from __future__ import annotations

from typing import Any

from backend.container import Container


async def active_benefits(c: Container, person_id: int) -> dict[str, list[dict[str, Any]]]:
    return {"chronic_qualifications": [], "remote_care_filings": []}
