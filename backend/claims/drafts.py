"""A claim before submission: the draft (citizen or station clerk) and its invoice files."""

from __future__ import annotations

import asyncio
import secrets

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases.models import Case
from backend.claims.access import (
    SERVICE_CODE,
    applicant_side,
    load_claim,
    load_invoice,
    person_of,
    policy_on,
)
from backend.claims.checks import flag
from backend.claims.models import Claim, ClaimInvoice, ClaimStatus, RegisteredInvoice
from backend.claims.ocr_results import OCR_JOB
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.family.service import can_act_for
from backend.identity.models import Person
from backend.identity.persons import find_person
from backend.identity.principal import Principal
from backend.infra import photo_match
from backend.infra.uploads import CheckedUpload, bands, check_upload, hamming, limits_of, store
from backend.outbox import service as outbox
from workflows.definition import CaseState, Channel

MAX_INVOICES = 20


MAX_SAME_PHOTO_CANDIDATES = 10  # photos compared image to image per upload (about 0.1 s each)


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
    me = await person_of(principal)
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


def editable(claim: Claim, case: Case | None) -> bool:
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
        await ClaimInvoice.filter(claim__person_id=claim.person_id)
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
    if not applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以上传票据", code="NOT_YOUR_CLAIM")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    if not editable(claim, case):
        raise Conflict("报销申请已提交，当前不能再上传票据", code="CLAIM_NOT_EDITABLE")
    if await ClaimInvoice.filter(claim_id=claim.id).count() >= MAX_INVOICES:
        raise InvalidInput(f"每次报销最多上传{MAX_INVOICES}张票据", code="TOO_MANY_INVOICES")
    upload = await asyncio.to_thread(check_upload, data, limits_of(c.settings))
    near = await _same_photos(c, claim, upload)
    flags = []
    if near:
        numbers = await Claim.filter(id__in=list({i.claim_id for i in near})).values_list(
            "number", flat=True
        )
        flags.append(
            flag(
                "SAME_PHOTO",
                f"与报销申请{'、'.join(sorted(str(n) for n in numbers))}中的票据照片相同或高度相似",
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


async def remove_invoice(
    c: Container, principal: Principal, claim_id: int, invoice_id: int
) -> None:
    claim = await load_claim(c, principal, claim_id)
    if not applicant_side(principal, claim):
        raise Forbidden("只有申请人本人或受理服务站可以删除票据", code="NOT_YOUR_CLAIM")
    case = await Case.get_or_none(id=claim.case_id) if claim.case_id else None
    inv = await load_invoice(claim, invoice_id)
    if not editable(claim, case) or inv.confirmed is not None:
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
