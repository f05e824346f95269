"""Who may see and act on a claim, and the names every claims module shares."""

from __future__ import annotations

from datetime import date
from typing import cast

from backend.cases import access
from backend.claims.errors import ClaimNotFound, InvoiceNotFound
from backend.claims.models import Claim, ClaimInvoice
from backend.clock import local_today
from backend.container import Container
from backend.identity.models import Account, Role
from backend.identity.principal import Principal
from config.policy import ReimbursementPolicy
from workflows.definition import Channel
from workflows.vocabulary import OWNERS, REIMBURSEMENT

SERVICE_CODE = REIMBURSEMENT
OWNER = OWNERS[SERVICE_CODE]
BANK_FIELD = "bank_account"


REVIEW_CATEGORY = "reimbursement"


def policy_on(c: Container, day: date | None = None) -> ReimbursementPolicy:
    return c.policies.reimbursement.at(day or local_today(c.clock))


async def person_of(principal: Principal) -> int | None:
    ids = cast(
        list[int | None],
        await Account.filter(id=principal.account_id).values_list("person_id", flat=True),
    )
    return ids[0] if ids else None


async def _may_see(c: Container, principal: Principal, claim: Claim) -> bool:
    role = principal.role
    if role is Role.CITIZEN:
        if claim.created_by_id == principal.account_id:
            return True
        me = await person_of(principal)
        return me is not None and me == claim.person_id
    if role is Role.STATION_STAFF:
        return principal.station_id is not None and claim.station_id == principal.station_id
    if role is Role.REVIEWER:  # the claims queue, or the front desk that accepts the case
        may = {REVIEW_CATEGORY, access.FRONT_DESK_CATEGORY} & set(principal.categories)
        return claim.case_id is not None and bool(may)
    return role in (Role.SUPERVISOR, Role.ADMIN) and claim.case_id is not None


async def load_claim(c: Container, principal: Principal, claim_id: int) -> Claim:
    """The claim if the caller may see it; anyone else's is "not found"."""
    claim = await Claim.get_or_none(id=claim_id)
    if claim is None or not await _may_see(c, principal, claim):
        raise ClaimNotFound()
    return claim


def applicant_side(principal: Principal, claim: Claim) -> bool:
    if principal.role is Role.CITIZEN:
        return claim.channel == Channel.APP.value
    if principal.role is Role.STATION_STAFF:
        return claim.channel == Channel.STATION.value
    return False


async def load_invoice(claim: Claim, invoice_id: int) -> ClaimInvoice:
    inv = await ClaimInvoice.get_or_none(id=invoice_id, claim_id=claim.id)
    if inv is None:
        raise InvoiceNotFound()
    return inv
