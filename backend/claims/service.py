"""Claims: a draft with invoices, the OCR proposal, submission onto the case engine, the
reviewer's confirmation, checks, the calculation and, on approval, the disbursement.

Flow: ``create_claim`` (citizen for themselves or a family member they may act for; a station
clerk for a citizen) → ``add_invoice`` (validated, stored, fingerprinted; OCR enqueued after
the commit) → ``submit_claim`` (the bank account, then a ``reimbursement`` case: front-desk
acceptance, review) → ``confirm_invoice`` by the reviewer holding the task (the confirmed
values are stored next to the proposal; when every invoice is confirmed the amount is computed
and the required review levels set) → the engine's decisions; ``after_transition`` creates the
disbursement on approval and releases the invoices on rejection or withdrawal.

The invoice identity (code + number) is registered when the claim is submitted (from the
reading) or when OCR finishes for a submitted claim, and again when a reviewer confirms it; a
unique constraint makes "already claimed anywhere" a database fact, not a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access, applicant, assisted, hooks, review, submission, time_limits
from backend.cases.models import Case, CaseTask, TaskStatus
from backend.claims import assessment
from backend.claims.checks import (
    CONFIRMED_OCR_KEYS,
    Flag,
    InvoiceValues,
    corrected,
    flag,
    proposed_region,
    qr_agreement,
    reading_checks,
    value_checks,
)
from backend.claims.models import (
    Claim,
    ClaimInvoice,
    ClaimStatus,
    Disbursement,
    DisbursementStatus,
    InvoiceFieldReview,
    OcrStatus,
    RegisteredInvoice,
)
from backend.claims.money import yuan
from backend.clock import CHINA_TZ, iso, local_today
from backend.container import Container
from backend.enrollment.coverage import insured_on
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.family.service import can_act_for
from backend.filings.service import policy as remote_care_policy
from backend.identity.models import Account, Person, Role
from backend.identity.persons import find_person, id_number_of
from backend.identity.principal import Principal
from backend.infra import photo_match
from backend.infra.crypto import mask_bank_account, mask_name
from backend.infra.uploads import CheckedUpload, bands, check_upload, hamming, limits_of, store
from backend.outbox import service as outbox
from config.policy import ItemClass, ReimbursementPolicy
from workflows.definition import FINAL_STATES, CaseState, Channel
from workflows.vocabulary import OWNERS, REIMBURSEMENT

log = logging.getLogger("yibao.claims")

SERVICE_CODE = REIMBURSEMENT
OWNER = OWNERS[SERVICE_CODE]
BANK_FIELD = "bank_account"
MAX_INVOICES = 20
REVIEW_CATEGORY = "reimbursement"
OCR_JOB = "ocr_invoice"
FINANCE_ROLES = (Role.FINANCE, Role.SUPERVISOR, Role.ADMIN)  # who records and exports payouts
MAX_SAME_PHOTO_CANDIDATES = 10  # photos compared image to image per upload (about 0.1 s each)


class ClaimNotFound(NotFound):
    code = "CLAIM_NOT_FOUND"
    message = "未找到该报销申请"


class InvoiceNotFound(NotFound):
    code = "INVOICE_NOT_FOUND"
    message = "未找到该票据"


class DuplicateInvoice(Conflict):
    code = "DUPLICATE_INVOICE"
    message = "该票据已在其他报销申请中使用，不能重复报销"


class NotInsuredOnCareDate(InvalidInput):
    code = "NOT_INSURED_ON_CARE_DATE"
    message = "就诊日期不在参保缴费的待遇享受期内，不能申请报销"


class StaleClaim(Conflict):
    code = "CLAIM_CHANGED"
    message = "报销申请已更新，请刷新后重试"


def policy_on(c: Container, day: date | None = None) -> ReimbursementPolicy:
    return c.policies.reimbursement.at(day or local_today(c.clock))


# -- access ------------------------------------------------------------------------------------


async def _person_of(principal: Principal) -> int | None:
    ids = await Account.filter(id=principal.account_id).values_list("person_id", flat=True)
    return ids[0] if ids else None


async def _may_see(c: Container, principal: Principal, claim: Claim) -> bool:
    role = principal.role
    if role is Role.CITIZEN:
        if claim.created_by_id == principal.account_id:  # type: ignore[attr-defined]
            return True
        me = await _person_of(principal)
        return me is not None and me == claim.person_id  # type: ignore[attr-defined]
    if role is Role.STATION_STAFF:
        return principal.station_id is not None and claim.station_id == principal.station_id
    if role is Role.REVIEWER:  # the claims queue, or the front desk that accepts the case
        may = {REVIEW_CATEGORY, access.FRONT_DESK_CATEGORY} & set(principal.categories)
        return claim.case_id is not None and bool(may)  # type: ignore[attr-defined]
    return role in (Role.SUPERVISOR, Role.ADMIN) and claim.case_id is not None  # type: ignore[attr-defined]


async def load_claim(c: Container, principal: Principal, claim_id: int) -> Claim:
    """The claim if the caller may see it; anyone else's is "not found"."""
    claim = await Claim.get_or_none(id=claim_id)
    if claim is None or not await _may_see(c, principal, claim):
        raise ClaimNotFound()
    return claim


def _applicant_side(principal: Principal, claim: Claim) -> bool:
    if principal.role is Role.CITIZEN:
        return claim.channel == Channel.APP.value
    if principal.role is Role.STATION_STAFF:
        return claim.channel == Channel.STATION.value
    return False


async def _load_invoice(claim: Claim, invoice_id: int) -> ClaimInvoice:
    inv = await ClaimInvoice.get_or_none(id=invoice_id, claim_id=claim.id)
    if inv is None:
        raise InvoiceNotFound()
    return inv


# -- drafts ------------------------------------------------------------------------------------


def _number(c: Container) -> str:
    return f"BX{local_today(c.clock):%Y%m%d}{secrets.randbelow(10**8):08d}"


async def _new_claim(
    c: Container, principal: Principal, person: Person, channel: Channel, station_id: int | None
) -> Claim:
    now = c.clock.now()
    for _ in range(3):
        try:
            async with in_transaction():
                claim = await Claim.create(
                    number=_number(c),
                    person=person,
                    created_by_id=principal.account_id,
                    channel=channel.value,
                    station_id=station_id,
                    created_at=now,
                    updated_at=now,
                )
                await audit.record(
                    c,
                    actor=principal,
                    action="claim.create",
                    subject_type="claim",
                    subject_id=claim.id,
                    data={"channel": channel.value},
                )
            return claim
        except IntegrityError:
            continue
    raise Conflict("系统繁忙，请稍后重试", code="CLAIM_NUMBER_COLLISION")


async def create_claim(c: Container, principal: Principal, *, person_id: int | None) -> Claim:
    """A citizen's draft, for themselves or for a family member they may act for."""
    me = await _person_of(principal)
    if me is None:
        raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
    target = person_id or me
    if not await can_act_for(c, me, target):
        raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
    person = await Person.get(id=target)
    return await _new_claim(c, principal, person, Channel.APP, None)


async def create_station_claim(
    c: Container, principal: Principal, *, applicant_id_number: str
) -> Claim:
    """A station clerk's draft for a citizen (帮办代办); the citizen authorises at submission."""
    if principal.station_id is None:
        raise Forbidden("账号未关联服务站", code="NO_STATION")
    from backend.stations.models import Station

    station = await Station.get(id=principal.station_id)
    if SERVICE_CODE not in (station.delegated_items or []):
        raise Forbidden("本服务站未承接该事项", code="ITEM_NOT_DELEGATED")
    person = await find_person(c, applicant_id_number.strip().upper())
    if person is None:
        raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
    return await _new_claim(c, principal, person, Channel.STATION, station.id)


def _editable(claim: Claim, case: Case | None) -> bool:
    if claim.status is ClaimStatus.DRAFT:
        return True
    return case is not None and case.state in (CaseState.CORRECTION, CaseState.SUPPLEMENT)


async def _same_photos(c: Container, claim: Claim, upload: CheckedUpload) -> list[ClaimInvoice]:
    """Invoices showing the same photo as ``upload``. Candidates: the very same file, a near
    photo hash (re-encoded or rescaled copies, but also every receipt printed from the same
    template) and the patient's recent invoices (a cropped copy changes the hash); each is
    then compared image to image (``backend.infra.photo_match``)."""
    b = bands(upload.dhash)
    near = await ClaimInvoice.filter(
        Q(band0=b[0]) | Q(band1=b[1]) | Q(band2=b[2]) | Q(band3=b[3]) | Q(sha256=upload.sha256)
    ).limit(200)
    distance = policy_on(c).photo_hash_max_distance
    candidates = {
        i.id: i
        for i in near
        if i.sha256 == upload.sha256 or hamming(i.phash, upload.dhash) <= distance
    }
    recent = (
        await ClaimInvoice.filter(
            claim__person_id=claim.person_id  # type: ignore[attr-defined]
        )
        .order_by("-id")
        .limit(MAX_SAME_PHOTO_CANDIDATES)
    )
    candidates |= {i.id: i for i in recent}
    new = await asyncio.to_thread(photo_match.grey, upload.image)
    same = []
    for inv in list(candidates.values())[: MAX_SAME_PHOTO_CANDIDATES * 2]:
        if inv.sha256 == upload.sha256:
            same.append(inv)
            continue
        old = await asyncio.to_thread(photo_match.grey, await c.storage.get(inv.image_key))
        if await asyncio.to_thread(photo_match.same_photo, new, old):
            same.append(inv)
    return same


async def add_invoice(
    c: Container, principal: Principal, claim_id: int, data: bytes
) -> ClaimInvoice:
    """Validate and store one invoice file; its OCR runs in the background."""
    claim = await load_claim(c, principal, claim_id)
    if not _applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以上传票据", code="NOT_YOUR_CLAIM")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
    if not _editable(claim, case):
        raise Conflict("报销申请已提交，当前不能再上传票据", code="CLAIM_NOT_EDITABLE")
    if await ClaimInvoice.filter(claim_id=claim.id).count() >= MAX_INVOICES:
        raise InvalidInput(f"每次报销最多上传{MAX_INVOICES}张票据", code="TOO_MANY_INVOICES")
    upload = await asyncio.to_thread(check_upload, data, limits_of(c.settings))
    near = await _same_photos(c, claim, upload)
    flags = []
    if near:
        numbers = await Claim.filter(id__in=list({i.claim_id for i in near})).values_list(  # type: ignore[attr-defined]
            "number", flat=True
        )
        flags.append(
            flag(
                "SAME_PHOTO",
                f"与报销申请{'、'.join(sorted(numbers))}中的票据照片相同或高度相似",
            )
        )
    now = c.clock.now()
    file_key, image_key = await store(c.storage, f"claims/{now:%Y/%m}/{claim.id}", upload)
    try:
        async with in_transaction():
            b = bands(upload.dhash)
            inv = await ClaimInvoice.create(
                claim=claim,
                file_key=file_key,
                image_key=image_key,
                content_type=upload.content_type,
                size_bytes=len(upload.original),
                width=upload.width,
                height=upload.height,
                sha256=upload.sha256,
                phash=upload.dhash,
                band0=b[0],
                band1=b[1],
                band2=b[2],
                band3=b[3],
                flags=flags,
                ocr_enqueued_at=now,
                created_at=now,
            )
            await audit.record(
                c,
                actor=principal,
                action="claim.invoice_added",
                subject_type="claim",
                subject_id=claim.id,
                data={"invoice_id": inv.id, "type": upload.content_type, "same_photo": bool(near)},
            )
            # The OCR job commits with the invoice: a Redis outage cannot lose it.
            staged = await outbox.stage(c, OCR_JOB, invoice_id=inv.id)
    except BaseException:
        for key in {file_key, image_key}:
            await c.storage.delete(key)
        raise
    await outbox.relay_now(c, staged)
    return inv


async def enqueue_ocr(c: Container, invoice_id: int) -> None:
    """The safety net's path (``resume_stalled_ocr``); uploads go through the outbox."""
    try:
        await c.jobs.enqueue(OCR_JOB, invoice_id=invoice_id)
    except Exception:  # the periodic recovery pass picks the invoice up later
        log.exception("could not enqueue OCR for invoice %s", invoice_id)


async def remove_invoice(
    c: Container, principal: Principal, claim_id: int, invoice_id: int
) -> None:
    claim = await load_claim(c, principal, claim_id)
    if not _applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以删除票据", code="NOT_YOUR_CLAIM")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
    inv = await _load_invoice(claim, invoice_id)
    if not _editable(claim, case) or inv.confirmed is not None:
        raise Conflict("该票据当前不能删除", code="INVOICE_LOCKED")
    async with in_transaction():
        await RegisteredInvoice.filter(invoice_id=inv.id).delete()
        await inv.delete()
        await audit.record(
            c,
            actor=principal,
            action="claim.invoice_removed",
            subject_type="claim",
            subject_id=claim.id,
            data={"invoice_id": invoice_id},
        )
    for key in {inv.file_key, inv.image_key}:
        await c.storage.delete(key)


# -- the OCR proposal ----------------------------------------------------------------------------


def proposal_values(inv: ClaimInvoice) -> dict[str, Any]:
    fields = (inv.proposal or {}).get("fields") or {}
    return {k: (v or {}).get("value") for k, v in fields.items()}


async def _register(
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
    if other is None or other.invoice_id == inv.id:  # type: ignore[attr-defined]
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


async def _checks_for(
    c: Container, inv: ClaimInvoice, claim: Claim, values: dict[str, Any]
) -> list[dict[str, Any]]:
    person = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
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


async def store_proposal(c: Container, invoice_id: int, proposal: dict[str, Any]) -> bool:
    """Save the machine's reading and the checks on it. False when nothing was pending."""
    async with in_transaction():
        inv = await ClaimInvoice.select_for_update().get_or_none(id=invoice_id)
        if inv is None or inv.ocr_status is not OcrStatus.PENDING:
            return False
        claim = await Claim.get(id=inv.claim_id)  # type: ignore[attr-defined]
        inv.proposal = proposal
        values = proposal_values(inv)
        flags = await _checks_for(c, inv, claim, values)
        flags.extend(reading_checks(proposal))
        if claim.status is not ClaimStatus.DRAFT and inv.confirmed is None:
            with contextlib.suppress(DuplicateInvoice):  # already flagged by _checks_for
                await _register(
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
        )  # type: ignore[attr-defined]


# -- submission ----------------------------------------------------------------------------------


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
    if not _applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以提交", code="NOT_YOUR_CLAIM")
    if claim.version != version:
        raise StaleClaim(current_version=claim.version)
    if claim.status is not ClaimStatus.DRAFT:
        raise Conflict("报销申请已提交", code="CLAIM_ALREADY_SUBMITTED")
    account = bank_account.replace(" ", "")
    if not account.isdigit() or not 12 <= len(account) <= 30:
        raise InvalidInput("银行账号应为12至30位数字", code="BANK_ACCOUNT_INVALID")
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    if not invoices:
        raise InvalidInput("请至少上传一张票据", code="INVOICES_REQUIRED")
    patient = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
    for inv in invoices:  # before any review: care on a day the patient was not insured
        day = care_date(inv.confirmed or proposal_values(inv))
        if day is not None and not await insured_on(c, patient, day):
            raise NotInsuredOnCareDate(invoice_id=inv.id, care_date=day.isoformat())
    now = c.clock.now()
    request = submission.NewCase(
        service_code=SERVICE_CODE,
        form={"claim_number": claim.number, **({"note": note} if note else {})},
        materials=[{"key": "invoice", "file_ref": f"claim:{claim.number}"}],
        origin=OWNER,
        domain_refs=frozenset({"invoice"}),
    )
    async with in_transaction():
        moved = await Claim.filter(
            id=claim.id, version=claim.version, status=ClaimStatus.DRAFT
        ).update(
            status=ClaimStatus.SUBMITTED,
            version=claim.version + 1,
            bank_name=bank_name.strip()[:60],
            bank_account_enc=c.pii.encrypt(account, BANK_FIELD),
            submitted_at=now,
            updated_at=now,
        )
        if moved != 1:
            raise StaleClaim()
        claim = await Claim.get(id=claim.id)
        seen: set[tuple[str, str]] = set()
        for inv in invoices:
            values = proposal_values(inv)
            key = (values.get("invoice_code"), values.get("invoice_number"))
            if key[0] and key[1]:
                if key in seen:
                    raise DuplicateInvoice("同一张票据不能在一次申请中重复上传", invoice_id=inv.id)
                seen.add(key)  # type: ignore[arg-type]
                await _register(c, inv, claim, key[0], key[1])
        if principal.role is Role.STATION_STAFF:
            from backend.cases.models import AuthorisationMethod

            person = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
            case = await assisted.submit_assisted(
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


async def _submit_for(
    c: Container, principal: Principal, claim: Claim, request: submission.NewCase
) -> Case:
    """A citizen submits for themselves, or for a family member (the member is the applicant)."""
    me = await _person_of(principal)
    if me == claim.person_id:  # type: ignore[attr-defined]
        return await submission.submit(c, principal, request)
    if me is None or not await can_act_for(c, me, claim.person_id):  # type: ignore[attr-defined]
        raise Forbidden("您不能为该参保人申请报销", code="NOT_YOUR_CLAIM")
    actor = await access.actor_for(principal)
    person = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
    return await submission.submit_for(c, actor, request, applicant=person)


async def resume_claim(c: Container, principal: Principal, claim_id: int, *, version: int) -> Case:
    """After 补正 or 补充材料: the new photos are in, the case goes back to the bureau."""
    claim = await load_claim(c, principal, claim_id)
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
    if case is None:
        raise Conflict("报销申请尚未提交", code="CLAIM_NOT_SUBMITTED")
    materials = [{"key": "invoice", "file_ref": f"claim:{claim.number}"}]
    if case.state == CaseState.CORRECTION:
        return await applicant.resubmit(
            c, principal, case.id, version=version, form=None, materials=materials
        )
    if case.state == CaseState.SUPPLEMENT:
        return await applicant.supply_materials(
            c, principal, case.id, version=version, materials=materials
        )
    raise Conflict("当前不需要补充材料", code="NO_MATERIALS_EXPECTED")


# -- review: confirmation, checks, calculation ---------------------------------------------------


async def _held_task(principal: Principal, claim: Claim) -> tuple[Case, CaseTask]:
    if principal.role is not Role.REVIEWER or REVIEW_CATEGORY not in principal.categories:
        raise Forbidden("只有报销审核人员可以确认票据", code="REVIEWER_ONLY")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
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
    inv = await _load_invoice(claim, invoice_id)
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
        await _register(c, inv, claim, confirmed["invoice_code"], confirmed["invoice_number"])
        inv.confirmed = confirmed
        inv.confirmed_by_id = principal.account_id
        inv.confirmed_at = now
        inv.corrected_fields = changed
        inv.flags = await _checks_for(c, inv, claim, confirmed)
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
    inv = await _load_invoice(claim, invoice_id)
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


# -- engine hooks ---------------------------------------------------------------------------------


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
    result = await assessment.settlement_for(c, claim, on=today, lock=True)
    if result is None or result.unresolved:  # the readiness guard makes this unreachable
        raise Conflict("票据尚未全部确认", code="SERVICE_NOT_READY")
    await assessment.add_to_years(c, claim.person_id, result)  # type: ignore[attr-defined]
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
        person_id=claim.person_id,  # type: ignore[attr-defined]
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


hooks.register(
    SERVICE_CODE,
    hooks.ServiceHooks(readiness=readiness, after_transition=after_transition, owner=OWNER),
)


# -- payout ---------------------------------------------------------------------------------------


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


# -- views ---------------------------------------------------------------------------------------


def _iso(moment: datetime | date | None) -> str | None:
    if isinstance(moment, datetime):
        return iso(moment)
    return moment.isoformat() if moment is not None else None


def disbursement_view(c: Container, d: Disbursement) -> dict[str, Any]:
    return {
        "id": d.id,
        "amount": yuan(d.amount_fen),
        "amount_fen": d.amount_fen,
        "status": d.status.value,
        "due_date": _iso(d.due_date),
        "overdue": d.status is DisbursementStatus.SCHEDULED and d.due_date < local_today(c.clock),
        "bank_name": d.bank_name,
        "bank_account": mask_bank_account(c.pii.decrypt(d.bank_account_enc, BANK_FIELD)),
        "paid_at": _iso(d.paid_at),
        "explanation": d.explanation.get("lines", []),
    }


def _invoice_summary(inv: ClaimInvoice, n: int) -> dict[str, Any]:
    values = inv.confirmed or proposal_values(inv)
    return {
        "id": inv.id,
        "seq": n,
        "content_type": inv.content_type,
        "ocr_status": inv.ocr_status.value,
        "confirmed": inv.confirmed is not None,
        "recognised": {
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
        "notices": [f["message"] for f in inv.flags or [] if f["code"] != "SAME_PHOTO"],
    }


async def claim_view(c: Container, claim: Claim) -> dict[str, Any]:
    """What the applicant side sees: progress, invoices, the amount and its explanation."""
    person = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
    payout = await Disbursement.get_or_none(claim_id=claim.id)
    bank = c.pii.decrypt(claim.bank_account_enc, BANK_FIELD) if claim.bank_account_enc else ""
    return {
        "id": claim.id,
        "number": claim.number,
        "status": claim.status.value,
        "version": claim.version,
        "channel": claim.channel,
        "insured": {"name": mask_name(person.name)},
        "case": (
            {"id": case.id, "number": case.number, "state": case.state, "version": case.version}
            if case
            else None
        ),
        "invoices": [_invoice_summary(inv, n) for n, inv in enumerate(invoices, 1)],
        "bank_name": claim.bank_name or None,
        "bank_account": mask_bank_account(bank) if bank else None,
        "payout_frozen": claim.payout_frozen_at is not None,
        "payable": yuan(claim.payable_fen) if claim.payable_fen is not None else None,
        "explanation": (claim.calculation or {}).get("lines", []) if payout else [],
        "schemes": (claim.calculation or {}).get("schemes", []) if payout else [],
        "payout": disbursement_view(c, payout) if payout else None,
        "submitted_at": _iso(claim.submitted_at),
        "created_at": _iso(claim.created_at),
    }


async def my_claims(principal: Principal) -> list[Claim]:
    me = await _person_of(principal)
    q = Q(created_by_id=principal.account_id)
    if me is not None:
        q |= Q(person_id=me)
    return await Claim.filter(q).order_by("-id").limit(100)


async def review_view(c: Container, claim: Claim) -> dict[str, Any]:
    """What the reviewer sees: per invoice the proposal (value, confidence, box), the checks,
    the confirmed values and what was corrected; the calculation and the open items."""
    person = await Person.get(id=claim.person_id)  # type: ignore[attr-defined]
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None  # type: ignore[attr-defined]
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
    inv = await _load_invoice(claim, invoice_id)
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


async def correction_stats(date_from: date, date_to: date) -> dict[str, Any]:
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
    return {
        "fields": [
            {
                "field": k,
                "reviewed": v["reviewed"],
                "corrected": v["corrected"],
                "correction_rate": (
                    str((Decimal(v["corrected"]) / v["reviewed"]).quantize(Decimal("0.0001")))
                    if v["reviewed"]
                    else None
                ),
            }
            for k, v in stats.items()
        ],
        "manual_entries": manual // len(CONFIRMED_OCR_KEYS),
    }
