"""What the applicant side and the reviewer read about a claim, the invoice image, and how often
reviewers correct the machine's reading."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from backend.audit import service as audit
from backend.cases.models import Case
from backend.claims.access import BANK_FIELD, load_claim, load_invoice, person_of
from backend.claims.checks import CONFIRMED_OCR_KEYS, proposed_region
from backend.claims.invoices import proposal_values
from backend.claims.models import (
    Claim,
    ClaimInvoice,
    Disbursement,
    DisbursementStatus,
    InvoiceFieldReview,
)
from backend.claims.money import yuan
from backend.claims.results import (
    CaseRef,
    ClaimView,
    CorrectionStats,
    FieldCorrections,
    InsuredName,
    InvoiceSummary,
    Payout,
)
from backend.claims.review import readiness
from backend.clock import CHINA_TZ, iso, local_today
from backend.container import Container
from backend.filings.service import policy as remote_care_policy
from backend.identity.models import Person
from backend.identity.principal import Principal
from backend.infra.crypto import mask_bank_account, mask_name


def _iso(moment: datetime | date | None) -> str | None:
    if isinstance(moment, datetime):
        return iso(moment)
    return moment.isoformat() if moment is not None else None


def disbursement_view(c: Container, d: Disbursement) -> Payout:
    return Payout(
        id=d.id,
        amount=yuan(d.amount_fen),
        amount_fen=d.amount_fen,
        status=d.status.value,
        due_date=_iso(d.due_date),
        overdue=d.status is DisbursementStatus.SCHEDULED and d.due_date < local_today(c.clock),
        bank_name=d.bank_name,
        bank_account=mask_bank_account(c.pii.decrypt(d.bank_account_enc, BANK_FIELD)),
        paid_at=_iso(d.paid_at),
        explanation=d.explanation.get("lines", []),
    )


def _invoice_summary(inv: ClaimInvoice, n: int) -> InvoiceSummary:
    values = inv.confirmed or proposal_values(inv)
    return InvoiceSummary(
        id=inv.id,
        seq=n,
        content_type=inv.content_type,
        ocr_status=inv.ocr_status.value,
        confirmed=inv.confirmed is not None,
        recognised={
            k: values.get(k)
            for k in (
                "invoice_code",
                "invoice_number",
                "issue_date",
                "hospital_name",
                "visit_type",
                "total_amount",
            )
        },
        notices=[f["message"] for f in inv.flags or [] if f["code"] != "SAME_PHOTO"],
    )


async def claim_view(c: Container, claim: Claim) -> ClaimView:
    """What the applicant side sees: progress, invoices, the amount and its explanation."""
    person = await Person.get(id=claim.person_id)
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    payout = await Disbursement.get_or_none(claim_id=claim.id)
    bank = c.pii.decrypt(claim.bank_account_enc, BANK_FIELD) if claim.bank_account_enc else ""
    return ClaimView(
        id=claim.id,
        number=claim.number,
        status=claim.status.value,
        version=claim.version,
        channel=claim.channel,
        insured=InsuredName(mask_name(person.name)),
        case=CaseRef(case.id, case.number, case.state, case.version) if case else None,
        invoices=[_invoice_summary(inv, n) for n, inv in enumerate(invoices, 1)],
        bank_name=claim.bank_name or None,
        bank_account=mask_bank_account(bank) if bank else None,
        payout_frozen=claim.payout_frozen_at is not None,
        payable=yuan(claim.payable_fen) if claim.payable_fen is not None else None,
        explanation=(claim.calculation or {}).get("lines", []) if payout else [],
        schemes=(claim.calculation or {}).get("schemes", []) if payout else [],
        payout=disbursement_view(c, payout) if payout else None,
        submitted_at=_iso(claim.submitted_at),
        created_at=_iso(claim.created_at),
    )


async def my_claims(principal: Principal) -> list[Claim]:
    me = await person_of(principal)
    q = Q(created_by_id=principal.account_id)
    if me is not None:
        q |= Q(person_id=me)
    return await Claim.filter(q).order_by("-id").limit(100)


async def review_view(c: Container, claim: Claim) -> dict[str, Any]:
    """What the reviewer sees: per invoice the proposal (value, confidence, box), the checks,
    the confirmed values and what was corrected; the calculation and the open items."""
    person = await Person.get(id=claim.person_id)
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    home_city = remote_care_policy(c, local_today(c.clock)).home_city_code
    out = []
    for n, inv in enumerate(invoices, 1):
        values = proposal_values(inv)
        proposal = inv.proposal or {}
        out.append(
            {
                "id": inv.id,
                "seq": n,
                "image_url": f"/api/v1/claims/{claim.id}/invoices/{inv.id}/image",
                "width": inv.width,
                "height": inv.height,
                "content_type": inv.content_type,
                "ocr_status": inv.ocr_status.value,
                "ocr_attempts": inv.ocr_attempts,
                "ocr_error": inv.ocr_error or None,
                "proposal": {
                    "engine": proposal.get("engine"),
                    "fields": proposal.get("fields", {}),
                    "checks": proposal.get("checks", {}),
                    "suggested": {
                        "care_region_code": proposed_region(values.get("invoice_code"), home_city),
                    },
                },
                "confirmed": inv.confirmed,
                "confirmed_by": inv.confirmed_by_id,
                "confirmed_at": _iso(inv.confirmed_at),
                "corrected_fields": inv.corrected_fields,
                "flags": inv.flags,
            }
        )
    return {
        "id": claim.id,
        "number": claim.number,
        "status": claim.status.value,
        "insured": {"name": person.name, "person_id": person.id},
        "case": (
            {
                "id": case.id,
                "state": case.state,
                "version": case.version,
                "review_level": case.review_level,
                "required_levels": case.required_levels,
            }
            if case
            else None
        ),
        "invoices": out,
        "calculation": claim.calculation or None,
        "open_items": await readiness(c, case) if case is not None else [],
    }


async def invoice_image(
    c: Container, principal: Principal, claim_id: int, invoice_id: int
) -> tuple[bytes, str]:
    claim = await load_claim(c, principal, claim_id)
    inv = await load_invoice(claim, invoice_id)
    if principal.is_staff():
        await audit.record(
            c,
            actor=principal,
            action="claim.image_viewed",
            subject_type="claim",
            subject_id=claim.id,
            data={"invoice_id": inv.id},
        )
    content_type = "image/png" if inv.image_key.endswith(".png") else "image/jpeg"
    return await c.storage.get(inv.image_key), content_type


async def correction_stats(date_from: date, date_to: date) -> CorrectionStats:
    """How often reviewers corrected each field of the machine's reading, by engine."""
    start = datetime.combine(date_from, datetime.min.time(), CHINA_TZ)
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), CHINA_TZ)
    rows = (
        await InvoiceFieldReview.filter(reviewed_at__gte=start, reviewed_at__lt=end)
        .exclude(engine="manual")
        .annotate(n=Count("id"))
        .group_by("field_name", "corrected")
        .values("field_name", "corrected", "n")
    )
    stats: dict[str, dict[str, int]] = {
        k: {"reviewed": 0, "corrected": 0} for k in CONFIRMED_OCR_KEYS
    }
    for r in rows:
        s = stats.setdefault(r["field_name"], {"reviewed": 0, "corrected": 0})
        s["reviewed"] += r["n"]
        if r["corrected"]:
            s["corrected"] += r["n"]
    manual = await InvoiceFieldReview.filter(
        reviewed_at__gte=start, reviewed_at__lt=end, engine="manual"
    ).count()
    return CorrectionStats(
        fields=[
            FieldCorrections(
                field=k,
                reviewed=v["reviewed"],
                corrected=v["corrected"],
                correction_rate=(
                    str((Decimal(v["corrected"]) / v["reviewed"]).quantize(Decimal("0.0001")))
                    if v["reviewed"]
                    else None
                ),
            )
            for k, v in stats.items()
        ],
        manual_entries=manual // len(CONFIRMED_OCR_KEYS),
    )
