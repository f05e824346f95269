"""The reviewer's work: confirming invoices, classing items, previewing and computing the
settlement; the readiness the engine asks for before a decision."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import review
from backend.cases.models import Case, CaseTask, TaskStatus
from backend.claims import assessment
from backend.claims.access import REVIEW_CATEGORY, load_claim, load_invoice, policy_on
from backend.claims.checks import CONFIRMED_OCR_KEYS, InvoiceValues, corrected
from backend.claims.errors import InvoiceNotFound
from backend.claims.invoices import checks_for, proposal_values, register_identity
from backend.claims.models import Claim, ClaimInvoice, InvoiceFieldReview, OcrStatus
from backend.container import Container
from backend.errors import Conflict, Forbidden, NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from config.policy import ItemClass
from workflows.definition import CaseState


async def _held_task(principal: Principal, claim: Claim) -> tuple[Case, CaseTask]:
    if principal.role is not Role.REVIEWER or REVIEW_CATEGORY not in principal.categories:
        raise Forbidden("只有报销审核人员可以确认票据", code="REVIEWER_ONLY")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    if case is None or case.state != CaseState.IN_REVIEW:
        raise Conflict("报销申请不在审核中", code="INVALID_STATE")
    task = await CaseTask.get_or_none(
        case_id=case.id, status=TaskStatus.CLAIMED, holder_id=principal.account_id
    )
    if task is None:
        raise Conflict("请先领取该审核任务", code="TASK_NOT_HELD")
    if task.level != 1:
        raise Conflict("票据信息由初审人员确认，复审只作审核决定", code="CONFIRM_AT_FIRST_LEVEL")
    return case, task


async def confirm_invoice(
    c: Container, principal: Principal, claim_id: int, invoice_id: int, values: InvoiceValues
) -> ClaimInvoice:
    """The reviewer's values for one invoice, next to the machine's proposal."""
    claim = await load_claim(c, principal, claim_id)
    case, _ = await _held_task(principal, claim)
    inv = await load_invoice(claim, invoice_id)
    confirmed = values.plain()
    if confirmed["items"] is None:
        confirmed["items"] = assessment.carried_items(inv, confirmed["total_amount"])
    machine = proposal_values(inv)
    changed = corrected(machine, confirmed) if inv.ocr_status is OcrStatus.DONE else []
    engine = (
        (inv.proposal or {}).get("engine", "") if inv.ocr_status is OcrStatus.DONE else "manual"
    )
    now = c.clock.now()
    async with in_transaction():
        await register_identity(
            c, inv, claim, confirmed["invoice_code"], confirmed["invoice_number"]
        )
        inv.confirmed = confirmed
        inv.confirmed_by_id = principal.account_id
        inv.confirmed_at = now
        inv.corrected_fields = changed
        inv.flags = await checks_for(c, inv, claim, confirmed)
        await inv.save(
            update_fields=[
                "confirmed",
                "confirmed_by_id",
                "confirmed_at",
                "corrected_fields",
                "flags",
            ]
        )
        await InvoiceFieldReview.filter(invoice_id=inv.id).delete()  # a re-confirmation replaces
        await InvoiceFieldReview.bulk_create(
            [
                InvoiceFieldReview(
                    invoice_id=inv.id,
                    field_name=key,
                    engine=engine or "manual",
                    corrected=key in changed,
                    reviewed_at=now,
                )
                for key in CONFIRMED_OCR_KEYS
            ]
        )
        await audit.record(
            c,
            actor=principal,
            action="claim.invoice_confirmed",
            subject_type="claim",
            subject_id=claim.id,
            data={"invoice_id": inv.id, "corrected": changed},
        )
        await _assess(c, claim, case)
    return inv


async def classify_item(
    c: Container,
    principal: Principal,
    claim_id: int,
    invoice_id: int,
    index: int,
    item_class: ItemClass | None,
) -> ClaimInvoice:
    """The reviewer classes one item of a confirmed invoice (甲类/乙类/丙类/自费), or hands it
    back to the catalogue and the invoice's split (None); the settlement is recomputed."""
    claim = await load_claim(c, principal, claim_id)
    case, _ = await _held_task(principal, claim)
    async with in_transaction():
        inv = await ClaimInvoice.select_for_update().get_or_none(id=invoice_id, claim_id=claim.id)
        if inv is None:
            raise InvoiceNotFound()
        if inv.confirmed is None:
            raise Conflict("请先确认票据信息，再对收费项目归类", code="INVOICE_NOT_CONFIRMED")
        items = list(inv.confirmed.get("items") or [])
        if not 0 <= index < len(items):
            raise NotFound("未找到该收费项目", code="ITEM_NOT_FOUND")
        previous = items[index].get("item_class")
        items[index] = {**items[index], "item_class": item_class}
        inv.confirmed = {**inv.confirmed, "items": items}
        await inv.save(update_fields=["confirmed"])
        await audit.record(
            c,
            actor=principal,
            action="claim.item_classed",
            subject_type="claim",
            subject_id=claim.id,
            data={"invoice_id": inv.id, "index": index, "from": previous, "to": item_class},
        )
        await _assess(c, claim, case)
    return inv


async def preview_settlement(
    c: Container, principal: Principal, claim_id: int, invoice_id: int, values: InvoiceValues
) -> dict[str, Any] | None:
    """The settlement as it would be with ``values`` for one invoice (the reviewer correcting
    fields), the others as confirmed; nothing is saved. None while another invoice has no
    confirmed values."""
    claim = await load_claim(c, principal, claim_id)
    if not principal.is_staff():
        raise Forbidden("只有审核人员可以试算", code="REVIEWER_ONLY")
    inv = await load_invoice(claim, invoice_id)
    plain = values.plain()
    if plain["items"] is None:
        plain["items"] = assessment.carried_items(inv, plain["total_amount"])
    result = await assessment.settlement_for(c, claim, values={inv.id: plain})
    return result.to_json() if result is not None else None


def _fen_to_decimal(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


async def _assess(c: Container, claim: Claim, case: Case) -> None:
    result = await assessment.settlement_for(c, claim)
    if result is None:
        await Claim.filter(id=claim.id).update(payable_fen=None, calculation={})
        return
    policy = policy_on(c)
    levels = 2 if result.payable_fen > policy.second_review_above_fen else 1
    await Claim.filter(id=claim.id).update(
        payable_fen=result.payable_fen, calculation=result.to_json(), updated_at=c.clock.now()
    )
    await review.update_assessment(
        c,
        case,
        amount=_fen_to_decimal(result.payable_fen),
        required_levels=levels,
        data={"claim_id": claim.id},
    )


async def readiness(c: Container, case: Case) -> list[str]:
    claim = await Claim.get_or_none(case_id=case.id)
    if claim is None:
        return ["未找到对应的报销申请"]
    open_items: list[str] = []
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    for n, inv in enumerate(invoices, 1):
        if inv.confirmed is None:
            open_items.append(f"票据{n}的识别结果尚未确认")
            continue
        for f in inv.flags or []:
            if f.get("blocking"):
                open_items.append(f"票据{n}：{f['message']}")
    if not invoices:
        open_items.append("没有票据")
    elif not open_items and not claim.calculation:
        open_items.append("尚未计算报销金额")
    open_items.extend(
        f"项目「{name}」目录未收录且票据未打印费用划分，请审核人员归类"
        for name in (claim.calculation or {}).get("unresolved_items", [])
    )
    return open_items
