"""The machine's reading of an invoice: queued, stored with its checks, or left to a person."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.claims.checks import flag, reading_checks
from backend.claims.errors import DuplicateInvoice
from backend.claims.invoices import checks_for, proposal_values, register_identity
from backend.claims.models import Claim, ClaimInvoice, ClaimStatus, OcrStatus
from backend.container import Container

log = logging.getLogger("yibao.claims")

OCR_JOB = "ocr_invoice"


async def enqueue_ocr(c: Container, invoice_id: int) -> None:
    """The safety net's path (``resume_stalled_ocr``); uploads go through the outbox."""
    try:
        await c.jobs.enqueue(OCR_JOB, invoice_id=invoice_id)
    except Exception:  # the periodic recovery pass picks the invoice up later
        log.exception("could not enqueue OCR for invoice %s", invoice_id)


async def store_proposal(c: Container, invoice_id: int, proposal: dict[str, Any]) -> bool:
    """Save the machine's reading and the checks on it. False when nothing was pending."""
    async with in_transaction():
        inv = await ClaimInvoice.select_for_update().get_or_none(id=invoice_id)
        if inv is None or inv.ocr_status is not OcrStatus.PENDING:
            return False
        claim = await Claim.get(id=inv.claim_id)
        inv.proposal = proposal
        values = proposal_values(inv)
        flags = await checks_for(c, inv, claim, values)
        flags.extend(reading_checks(proposal))
        if claim.status is not ClaimStatus.DRAFT and inv.confirmed is None:
            with contextlib.suppress(DuplicateInvoice):  # already flagged by checks_for
                await register_identity(
                    c, inv, claim, values.get("invoice_code"), values.get("invoice_number")
                )
        inv.flags = flags
        inv.ocr_status = OcrStatus.DONE
        inv.ocr_error = ""
        await inv.save(update_fields=["proposal", "flags", "ocr_status", "ocr_error"])
    return True


async def mark_manual(c: Container, invoice_id: int, error: str) -> None:
    """OCR kept failing: the invoice waits for a reviewer to enter its values."""
    async with in_transaction():
        inv = await ClaimInvoice.select_for_update().get_or_none(id=invoice_id)
        if inv is None or inv.ocr_status is not OcrStatus.PENDING:
            return
        inv.ocr_status = OcrStatus.MANUAL
        inv.ocr_error = error[:60]
        inv.flags = [
            *(inv.flags or []),
            flag("OCR_FAILED", "票据自动识别失败，请审核人员对照图片人工录入"),
        ]
        await inv.save(update_fields=["ocr_status", "ocr_error", "flags"])
        await audit.record(
            c,
            actor=None,
            action="claim.ocr_failed",
            subject_type="claim",
            subject_id=inv.claim_id,
            data={"invoice_id": inv.id, "error": error[:60]},
        )
