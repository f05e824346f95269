"""Submitting a claim onto the case engine, and resuming it after 补正 or 补充材料."""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access, applicant, assisted, submission
from backend.cases.models import Case
from backend.claims.access import (
    BANK_FIELD,
    OWNER,
    SERVICE_CODE,
    applicant_side,
    load_claim,
    person_of,
)
from backend.claims.errors import DuplicateInvoice, NotInsuredOnCareDate, StaleClaim
from backend.claims.invoices import care_date, proposal_values, register_identity
from backend.claims.models import Claim, ClaimInvoice, ClaimStatus
from backend.container import Container
from backend.enrollment.coverage import insured_on
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.family.service import can_act_for
from backend.identity.models import Person, Role
from backend.identity.persons import id_number_of
from backend.identity.principal import Principal
from workflows.definition import CaseState


async def submit_claim(
    c: Container,
    principal: Principal,
    claim_id: int,
    *,
    version: int,
    bank_name: str,
    bank_account: str,
    note: str = "",
    authorisation_method: str | None = None,
    form_ref: str = "",
    form_number: str = "",
) -> Claim:
    """Submit the draft: it becomes a ``reimbursement`` case (assisted for a station claim)."""
    claim = await load_claim(c, principal, claim_id)
    account = _check_submittable(principal, claim, version, bank_account)
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    if not invoices:
        raise InvalidInput("请至少上传一张票据", code="INVOICES_REQUIRED")
    await _check_insured_on_care_dates(c, claim, invoices)
    request = submission.NewCase(
        service_code=SERVICE_CODE,
        form={"claim_number": claim.number, **({"note": note} if note else {})},
        materials=[{"key": "invoice", "file_ref": f"claim:{claim.number}"}],
        origin=OWNER,
        domain_refs=frozenset({"invoice"}),
    )
    async with in_transaction():
        claim = await _mark_submitted(c, claim, bank_name, account)
        await _register_invoices(c, claim, invoices)
        if principal.role is Role.STATION_STAFF:
            authorisation = (authorisation_method, form_ref, form_number)
            case = await _submit_assisted(c, principal, claim, request, *authorisation)
        else:
            case = await _submit_for(c, principal, claim, request)
        await Claim.filter(id=claim.id).update(case_id=case.id)
        await audit.record(
            c,
            actor=principal,
            action="claim.submit",
            subject_type="claim",
            subject_id=claim.id,
            data={"case_id": case.id, "invoices": len(invoices)},
        )
    return await Claim.get(id=claim.id)


def _check_submittable(principal: Principal, claim: Claim, version: int, bank_account: str) -> str:
    """Refuse what cannot be submitted; the bank account without spaces otherwise."""
    if not applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以提交", code="NOT_YOUR_CLAIM")
    if claim.version != version:
        raise StaleClaim(current_version=claim.version)
    if claim.status is not ClaimStatus.DRAFT:
        raise Conflict("报销申请已提交", code="CLAIM_ALREADY_SUBMITTED")
    return bank_account_digits(bank_account)


def bank_account_digits(value: str) -> str:
    """A payout bank account as digits (spaces dropped), or a 422."""
    account = value.replace(" ", "")
    if not account.isdigit() or not 12 <= len(account) <= 30:
        raise InvalidInput("银行账号应为12至30位数字", code="BANK_ACCOUNT_INVALID")
    return account


async def _check_insured_on_care_dates(
    c: Container, claim: Claim, invoices: list[ClaimInvoice]
) -> None:
    """Before any review: care on a day the patient was not insured is refused."""
    patient = await Person.get(id=claim.person_id)
    for inv in invoices:
        day = care_date(inv.confirmed or proposal_values(inv))
        if day is not None and not await insured_on(c, patient, day):
            raise NotInsuredOnCareDate(invoice_id=inv.id, care_date=day.isoformat())


async def _mark_submitted(c: Container, claim: Claim, bank_name: str, account: str) -> Claim:
    """Compare-and-set from the draft the applicant saw; a concurrent change is refused."""
    now = c.clock.now()
    moved = await Claim.filter(id=claim.id, version=claim.version, status=ClaimStatus.DRAFT).update(
        status=ClaimStatus.SUBMITTED,
        version=claim.version + 1,
        bank_name=bank_name.strip()[:60],
        bank_account_enc=c.pii.encrypt(account, BANK_FIELD),
        submitted_at=now,
        updated_at=now,
    )
    if moved != 1:
        raise StaleClaim()
    return await Claim.get(id=claim.id)


async def _register_invoices(c: Container, claim: Claim, invoices: list[ClaimInvoice]) -> None:
    """Hold each invoice identity read from the photos; the same invoice twice is refused."""
    seen: set[tuple[str, str]] = set()
    for inv in invoices:
        values = proposal_values(inv)
        key = (values.get("invoice_code"), values.get("invoice_number"))
        if key[0] and key[1]:
            if key in seen:
                raise DuplicateInvoice("同一张票据不能在一次申请中重复上传", invoice_id=inv.id)
            seen.add(key)  # type: ignore[arg-type]
            await register_identity(c, inv, claim, key[0], key[1])


async def _submit_assisted(
    c: Container,
    principal: Principal,
    claim: Claim,
    request: submission.NewCase,
    authorisation_method: str | None,
    form_ref: str,
    form_number: str,
) -> Case:
    """A station clerk submits for the citizen (帮办代办)."""
    from backend.cases.models import AuthorisationMethod

    person = await Person.get(id=claim.person_id)
    return await assisted.submit_assisted(
        c,
        principal,
        assisted.AssistedCase(
            request=request,
            applicant_id_number=id_number_of(c, person),
            authorisation_method=(
                AuthorisationMethod(authorisation_method) if authorisation_method else None
            ),
            form_ref=form_ref,
            form_number=form_number,
        ),
    )


async def _submit_for(
    c: Container, principal: Principal, claim: Claim, request: submission.NewCase
) -> Case:
    """A citizen submits for themselves, or for a family member (the member is the applicant)."""
    me = await person_of(principal)
    if me == claim.person_id:
        return await submission.submit(c, principal, request)
    if me is None or not await can_act_for(c, me, claim.person_id):
        raise Forbidden("您不能为该参保人申请报销", code="NOT_YOUR_CLAIM")
    actor = await access.actor_for(principal)
    person = await Person.get(id=claim.person_id)
    return await submission.submit_for(c, actor, request, applicant=person)


async def resume_claim(c: Container, principal: Principal, claim_id: int, *, version: int) -> Case:
    """After 补正 or 补充材料: the new photos are in, the case goes back to the bureau."""
    claim = await load_claim(c, principal, claim_id)
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    if case is None:
        raise Conflict("报销申请尚未提交", code="CLAIM_NOT_SUBMITTED")
    materials: list[Mapping[str, str]] = [{"key": "invoice", "file_ref": f"claim:{claim.number}"}]
    if case.state == CaseState.CORRECTION:
        return await applicant.resubmit(
            c, principal, case.id, version=version, form=None, materials=materials
        )
    if case.state == CaseState.SUPPLEMENT:
        return await applicant.supply_materials(
            c, principal, case.id, version=version, materials=materials
        )
    raise Conflict("当前不需要补充材料", code="NO_MATERIALS_EXPECTED")
