"""Review of the payouts a reclaim froze (实名取回后的收款账户核查).

When a person reclaims their identity (:mod:`backend.identity.binding`), the bank accounts the
other account set on the person's claims are frozen: the claim keeps ``payout_frozen_at`` and
its disbursement, if any, is ``frozen``; finance cannot pay it. Supervision staff list these
claims and decide each one: **release** it as it is (the account proves to be the person's),
or release it **to another account**, the one the rightful person gives. Either way the
decision is audited, the person is told, and only then can the payout be paid.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.cases.models import InboxMessage
from backend.claims.access import BANK_FIELD
from backend.claims.models import Claim, Disbursement, DisbursementStatus
from backend.claims.results import FrozenPayout, FrozenPayouts
from backend.claims.submission import bank_account_digits
from backend.claims.views import disbursement_view
from backend.clock import iso
from backend.container import Container
from backend.errors import Conflict, Forbidden, NotFound
from backend.identity.models import Account, Person, Role
from backend.identity.persons import person_view
from backend.identity.principal import Principal
from backend.infra.crypto import mask_bank_account

REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)


def _check(actor: Principal) -> None:
    if actor.role not in REVIEWERS:
        raise Forbidden()


async def _view(c: Container, claim: Claim) -> FrozenPayout:
    person = await Person.get(id=claim.person_id)
    payout = await Disbursement.get_or_none(claim_id=claim.id)
    return FrozenPayout(
        claim_id=claim.id,
        claim_number=claim.number,
        claim_status=claim.status.value,
        person=person_view(c, person),
        set_by_account_id=claim.created_by_id,
        bank_name=claim.bank_name,
        bank_account=mask_bank_account(c.pii.decrypt(claim.bank_account_enc, BANK_FIELD)),
        frozen_at=iso(claim.payout_frozen_at),
        payout=disbursement_view(c, payout) if payout else None,
    )


async def frozen_payouts(c: Container, actor: Principal) -> FrozenPayouts:
    """Supervision staff: the claims whose payout is frozen, oldest first."""
    _check(actor)
    claims = await Claim.filter(payout_frozen_at__isnull=False).order_by("payout_frozen_at", "id")
    return FrozenPayouts([await _view(c, claim) for claim in claims[:200]])


async def release(
    c: Container,
    actor: Principal,
    claim_id: int,
    *,
    reason: str,
    bank_name: str | None = None,
    bank_account: str | None = None,
) -> FrozenPayout:
    """Lift the freeze of ``claim_id``'s payout, to the account on the claim or, when given, to
    the rightful person's ``bank_account``; audited, and the person is told."""
    _check(actor)
    digits = bank_account_digits(bank_account) if bank_account is not None else None
    now = c.clock.now()
    async with in_transaction():
        claim = await Claim.select_for_update().get_or_none(id=claim_id)
        if claim is None:
            raise NotFound("未找到该报销申请", code="CLAIM_NOT_FOUND")
        if claim.payout_frozen_at is None:
            raise Conflict("该报销申请的收款账户未被冻结", code="PAYOUT_NOT_FROZEN")
        account: dict[str, Any] = {}
        if digits is not None:
            account = {
                "bank_name": (bank_name or claim.bank_name).strip()[:60],
                "bank_account_enc": c.pii.encrypt(digits, BANK_FIELD),
            }
        await Claim.filter(id=claim.id).update(payout_frozen_at=None, updated_at=now, **account)
        await Disbursement.filter(claim_id=claim.id, status=DisbursementStatus.FROZEN).update(
            status=DisbursementStatus.SCHEDULED, **account
        )
        await record(
            c,
            actor=actor,
            action="claim.payout_released",
            subject_type="claim",
            subject_id=claim.id,
            reason=reason,
            data={
                "account_replaced": digits is not None,
                "bank_account": mask_bank_account(
                    digits or c.pii.decrypt(claim.bank_account_enc, BANK_FIELD)
                ),
            },
        )
        owner = await Account.get_or_none(person_id=claim.person_id)
        if owner is not None:
            tail = (digits or c.pii.decrypt(claim.bank_account_enc, BANK_FIELD))[-4:]
            await InboxMessage.create(
                person_id=claim.person_id,
                account_id=owner.id,
                title="收款账户核查完成",
                body=f"您的报销申请{claim.number}的收款账户已核查，报销款将汇入尾号{tail}的账户。",
                created_at=now,
            )
    return await _view(c, await Claim.get(id=claim_id))
