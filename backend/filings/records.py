"""Remote-care filing records: recorded when their case is issued, expired by a periodic job.

The filing is recorded by the ``after_transition`` hook, in the transaction of the issuance;
a change ends the filing it replaces the day before the new one starts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from backend.audit import service as audit
from backend.cases import access
from backend.cases.models import Case
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.entitlements import template
from backend.filings.entitlement import SPEC, filing_type, policy
from backend.filings.models import FilingStatus, RemoteCareFiling


async def _end_replaced(
    person_id: int, replaces: int, start: date, form: dict[str, Any], now: datetime
) -> None:
    """A change ends the filing it replaces the day before the new one starts."""
    old = await RemoteCareFiling.get_or_none(
        id=replaces, person_id=person_id, status=FilingStatus.ACTIVE
    )
    if old is None:  # cancelled meanwhile: nothing to end
        return
    await template.end(
        SPEC,
        old,
        now,
        status=FilingStatus.ENDED,
        valid_to=start - timedelta(days=1),
        end_reason=f"变更：{form.get('change_reason', '')}"[:200],
        ended_at=now,
    )


async def after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    if name != "issue":
        return
    form = case.form or {}
    submitted_on = case.created_at.astimezone(CHINA_TZ).date()
    ftype = filing_type(policy(c, submitted_on), form["filing_type"])
    start = date.fromisoformat(form["start_date"])
    valid_to = start + timedelta(days=ftype.validity_days - 1) if ftype.validity_days else None
    now = c.clock.now()
    replaces = int(form["replaces_filing"]) if form.get("replaces_filing") else None
    if replaces is not None:
        await _end_replaced(case.applicant_id, replaces, start, form, now)
    filing = await template.record(
        SPEC,
        case,
        ftype.category,
        now,
        filing_type=form["filing_type"],
        type_name=ftype.name,
        province_code=form["province_code"],
        city_code=form["city_code"],
        destination_hospital=form.get("destination_hospital", ""),
        commitment=bool(form.get("$need_commitment_letter")),
        retroactive=start < submitted_on,
        start_date=start,
        valid_from=start,
        valid_to=valid_to,
        replaces_id=replaces,
        channel=case.channel,
    )
    await audit.record(
        c,
        actor=actor.principal,
        action="filing.activate",
        subject_type="remote_care_filing",
        subject_id=filing.id,
        data={
            "case_id": case.id,
            "serial": filing.serial,
            "type": filing.filing_type,
            "city_code": filing.city_code,
            "valid_from": start.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "replaces": replaces,
        },
    )


async def expire_lapsed_filings(c: Container) -> dict[str, int]:
    """Periodic: write the end of filings whose validity is over (frees their categories).
    Safe to run twice or concurrently (one conditional UPDATE)."""
    return {"ended": await template.expire_lapsed(c, SPEC)}
