"""After the engine's decision: the disbursement on approval, the invoices released otherwise;
finance recording the bank transfer."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access, time_limits
from backend.cases.models import Case
from backend.claims import assessment
from backend.claims.access import BANK_FIELD, policy_on
from backend.claims.models import (
    Claim,
    ClaimInvoice,
    ClaimStatus,
    Disbursement,
    DisbursementStatus,
    RegisteredInvoice,
)
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from workflows.definition import FINAL_STATES, CaseState

FINANCE_ROLES = (Role.FINANCE, Role.SUPERVISOR, Role.ADMIN)  # who records and exports payouts


async def after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    claim = await Claim.get_or_none(case_id=case.id)
    if claim is None:
        return
    if name == "approve":
        await _disburse(c, claim, case)
    elif case.state in FINAL_STATES and case.state != CaseState.ISSUED:
        status = ClaimStatus.REJECTED if case.state == CaseState.REJECTED else ClaimStatus.WITHDRAWN
        invoice_ids = await ClaimInvoice.filter(claim_id=claim.id).values_list("id", flat=True)
        await RegisteredInvoice.filter(invoice_id__in=list(invoice_ids)).delete()
        await Claim.filter(id=claim.id).update(status=status, updated_at=c.clock.now())


async def _disburse(c: Container, claim: Claim, case: Case) -> None:
    """Approval: settle again against the person-years locked in this transaction, add this
    claim to them, then schedule the transfer."""
    today = local_today(c.clock)
    result = await assessment.settlement_for(c, claim, lock=True)
    if result is None or result.unresolved:  # the readiness guard makes this unreachable
        raise Conflict("票据尚未全部确认", code="SERVICE_NOT_READY")
    await assessment.add_to_years(c, claim.person_id, result)
    policy = policy_on(c, today)
    due = time_limits.calendar(c).add_working_days(today, policy.payout_working_days)
    lines = [*result.lines, f"将于{due:%Y年%m月%d日}前汇入您尾号{_last4(c, claim)}的银行账户"]
    explanation = {**result.to_json(), "lines": lines}
    await Claim.filter(id=claim.id).update(
        status=ClaimStatus.APPROVED,
        payable_fen=result.payable_fen,
        calculation=explanation,
        updated_at=c.clock.now(),
    )
    await Disbursement.create(
        claim=claim,
        person_id=claim.person_id,
        amount_fen=result.payable_fen,
        year=today.year,
        bank_name=claim.bank_name,
        bank_account_enc=claim.bank_account_enc,
        status=DisbursementStatus.FROZEN
        if claim.payout_frozen_at
        else DisbursementStatus.SCHEDULED,
        due_date=due,
        explanation=explanation,
        created_at=c.clock.now(),
    )


def _last4(c: Container, claim: Claim) -> str:
    return c.pii.decrypt(claim.bank_account_enc, BANK_FIELD)[-4:] if claim.bank_account_enc else ""


def check_finance(principal: Principal) -> None:
    if principal.role not in FINANCE_ROLES:
        raise Forbidden("只有财务人员可以登记汇款", code="FINANCE_ONLY")


async def mark_paid(
    c: Container, principal: Principal, disbursement_id: int, *, reference: str
) -> Disbursement:
    """Finance records the bank transfer (the reference from the bank's statement)."""
    check_finance(principal)
    now = c.clock.now()
    async with in_transaction():
        done = await Disbursement.filter(
            id=disbursement_id, status=DisbursementStatus.SCHEDULED
        ).update(status=DisbursementStatus.PAID, paid_at=now, reference=reference[:64])
        if done != 1:
            current = await Disbursement.get_or_none(id=disbursement_id)
            if current is None:
                raise NotFound("未找到该汇款记录", code="DISBURSEMENT_NOT_FOUND")
            if current.status is DisbursementStatus.FROZEN:
                raise Conflict("该笔报销款的收款账户已冻结待核查", code="PAYOUT_FROZEN")
            raise Conflict("该笔报销款已登记汇款", code="ALREADY_PAID")
        await audit.record(
            c,
            actor=principal,
            action="claim.paid",
            subject_type="disbursement",
            subject_id=disbursement_id,
            data={"reference": reference[:64]},
        )
    return await Disbursement.get(id=disbursement_id)
