"""An invoice's identity (held once across all claims) and the checks on its values."""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.claims.access import policy_on
from backend.claims.checks import Flag, flag, qr_agreement, value_checks
from backend.claims.errors import DuplicateInvoice, NotInsuredOnCareDate
from backend.claims.models import Claim, ClaimInvoice, RegisteredInvoice
from backend.clock import CHINA_TZ, local_today
from backend.container import Container
from backend.enrollment.coverage import insured_on
from backend.identity.models import Person


def proposal_values(inv: ClaimInvoice) -> dict[str, Any]:
    fields = (inv.proposal or {}).get("fields") or {}
    return {k: (v or {}).get("value") for k, v in fields.items()}


async def register_identity(
    c: Container, inv: ClaimInvoice, claim: Claim, code: str | None, number: str | None
) -> None:
    """Hold the invoice identity for this claim; :class:`DuplicateInvoice` if another has it.
    Call inside a transaction (the savepoint keeps a conflict from aborting it)."""
    await RegisteredInvoice.filter(invoice_id=inv.id).delete()
    if not code or not number:
        return
    try:
        async with in_transaction():
            await RegisteredInvoice.create(
                invoice_code=code,
                invoice_number=number,
                invoice=inv,
                claim_id=claim.id,
                created_at=c.clock.now(),
            )
    except IntegrityError:
        other = await RegisteredInvoice.get_or_none(invoice_code=code, invoice_number=number)
        number_of = None
        if other is not None:
            found = await Claim.filter(id=other.claim_id).values_list("number", flat=True)
            number_of = found[0] if found else None
        raise DuplicateInvoice(invoice_id=inv.id, other_claim=number_of) from None


async def _duplicate_flag(inv: ClaimInvoice, values: dict[str, Any]) -> list[dict[str, Any]]:
    code, number = values.get("invoice_code"), values.get("invoice_number")
    if not code or not number:
        return []
    other = await RegisteredInvoice.get_or_none(invoice_code=code, invoice_number=number)
    if other is None or other.invoice_id == inv.id:
        return []
    return [flag("DUPLICATE_INVOICE", "该票据已在其他报销申请中使用", blocking=True)]


def care_date(values: dict[str, Any]) -> date | None:
    """The date of care: the invoice's issue date (门诊 the visit, 住院 the discharge)."""
    try:
        return date.fromisoformat(str(values.get("issue_date")))
    except ValueError:
        return None


async def _coverage_flag(c: Container, person: Person, values: dict[str, Any]) -> list[Flag]:
    day = care_date(values)
    if day is None or await insured_on(c, person, day):
        return []
    return [flag(NotInsuredOnCareDate.code, NotInsuredOnCareDate.message, blocking=True)]


async def checks_for(
    c: Container, inv: ClaimInvoice, claim: Claim, values: dict[str, Any]
) -> list[dict[str, Any]]:
    person = await Person.get(id=claim.person_id)
    day = claim.submitted_at.astimezone(CHINA_TZ).date() if claim.submitted_at else None
    day = day or local_today(c.clock)
    kept = [f for f in (inv.flags or []) if f["code"] == "SAME_PHOTO"]
    return [
        *kept,
        *await _duplicate_flag(inv, values),
        *qr_agreement(inv.proposal, values),
        *await _coverage_flag(c, person, values),
        *value_checks(values, insured_name=person.name, submitted_on=day, policy=policy_on(c, day)),
    ]
