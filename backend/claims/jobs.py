"""The OCR job: read one invoice in the background and store the proposal.

A PDF or OFD e-invoice is read exactly from its text (``ocr.einvoice``); a photo, a scan, or a
PDF without a text layer goes through OCR of the image.

Enqueued after the upload commits (``c.jobs.enqueue("ocr_invoice", invoice_id=...)``); runs in
SAQ workers (``yibao worker``) in production and in-process in the embedded default, with the
same retries and timeout (``settings.ocr_attempts``, ``ocr_timeout_s``, ``ocr_retry_delay_s``).
Idempotent: an invoice that is no longer pending is skipped. When the last attempt fails the
invoice goes to manual entry (``mark_manual``): the claim continues and the reviewer types the
values in from the image; nothing is lost. :func:`resume_stalled_ocr` (a periodic job)
re-enqueues invoices whose job vanished with a process, and gives up on them the same way.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Protocol

from tortoise.expressions import F

from backend.claims import ocr_results
from backend.claims.models import ClaimInvoice, OcrStatus
from backend.container import Container
from backend.infra.jobqueue import JobSpec
from backend.infra.uploads import EINVOICE_TYPES
from config.settings import Settings


class InvoiceReader(Protocol):
    """Reads an invoice image with the OCR engine ``engine`` (``settings.ocr_engine``) into a
    proposal (``ocr.pipeline.InvoiceReading.to_dict``). ``Container.invoice_reader``: the real one
    below, or a test's own."""

    def __call__(self, image: bytes, engine: str) -> dict[str, Any]: ...


def read_invoice_image(image: bytes, engine: str) -> dict[str, Any]:
    from ocr.pipeline import read_invoice

    return read_invoice(image, engine=engine).to_dict()


def _read_exact(original: bytes) -> dict[str, Any] | None:
    """A PDF or OFD e-invoice read from its text (``None``: no text layer, OCR it instead)."""
    from ocr.einvoice import EInvoiceError, read_einvoice

    try:
        return read_einvoice(original).to_dict()
    except EInvoiceError:
        return None


async def ocr_invoice(c: Container, *, invoice_id: int, attempt: int = 1) -> dict[str, Any]:
    inv = await ClaimInvoice.get_or_none(id=invoice_id)
    if inv is None or inv.ocr_status is not OcrStatus.PENDING:
        return {"skipped": True}
    await ClaimInvoice.filter(id=invoice_id).update(
        ocr_attempts=F("ocr_attempts") + 1, ocr_enqueued_at=c.clock.now()
    )
    proposal = None
    if inv.content_type in EINVOICE_TYPES:
        original = await c.storage.get(inv.file_key)
        proposal = await asyncio.to_thread(_read_exact, original)
    if proposal is None:
        image = await c.storage.get(inv.image_key)
        proposal = await asyncio.to_thread(c.invoice_reader, image, c.settings.ocr_engine)
    stored = await ocr_results.store_proposal(c, invoice_id, proposal)
    return {"stored": stored}


async def ocr_gave_up(c: Container, error: BaseException, *, invoice_id: int) -> None:
    await ocr_results.mark_manual(c, invoice_id, type(error).__name__)


def ocr_job_spec(settings: Settings) -> JobSpec:
    return JobSpec(
        name=ocr_results.OCR_JOB,
        run=ocr_invoice,
        attempts=settings.ocr_attempts,
        timeout_s=settings.ocr_timeout_s,
        retry_delay_s=settings.ocr_retry_delay_s,
        on_give_up=ocr_gave_up,
    )


async def resume_stalled_ocr(c: Container) -> int:
    """Invoices still pending well after their last attempt should have ended: enqueue them
    again, or give up once they have had all their attempts."""
    s = c.settings
    stale_before = c.clock.now() - timedelta(
        seconds=s.ocr_attempts * (s.ocr_timeout_s + s.ocr_retry_delay_s) + 300
    )
    stalled = await ClaimInvoice.filter(
        ocr_status=OcrStatus.PENDING, ocr_enqueued_at__lt=stale_before
    ).limit(100)
    resumed = 0
    for inv in stalled:
        if inv.ocr_attempts >= s.ocr_attempts:
            await ocr_results.mark_manual(c, inv.id, "stalled")
            continue
        await ClaimInvoice.filter(id=inv.id, ocr_status=OcrStatus.PENDING).update(
            ocr_enqueued_at=c.clock.now()
        )
        await ocr_results.enqueue_ocr(c, inv.id)
        resumed += 1
    return resumed
