"""Supporting documents (材料): uploads, the references cases make to them, and who sees them.

- An upload goes through the same content checks as an invoice photo
  (:func:`backend.infra.uploads.check_upload`: type by content, size, pixel and decompression
  limits, PDF page count) and is stored through the storage interface; it belongs to one
  applicant: the citizen themselves, a family member they may act for, or the citizen a
  station clerk serves.
- A case names a material as ``upload:<id>``; the upload must belong to the case's applicant
  (or already be attached to that case). On first use the upload is attached to the case.
  Only the domain that owns a service may pass its own references for the materials it
  vouches for (a claim's invoices: ``NewCase.domain_refs``).
- The uploader, the applicant and whoever may see a case the upload is attached to may list
  and view it; staff views are audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from backend.audit import service as audit
from backend.cases.access import actor_for, can_see, load_case
from backend.cases.models import Case, CaseMaterial, CaseUpload, MaterialStatus
from backend.cases.results import CaseMaterials, MaterialWithUpload, UploadView
from backend.clock import iso
from backend.container import Container
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.family.service import can_act_for
from backend.identity.models import Role
from backend.identity.persons import find_person
from backend.identity.principal import Principal
from backend.infra.uploads import check_upload, limits_of, store
from workflows.definition import Definition

REF_PREFIX = "upload:"


class UploadNotFound(NotFound):
    code = "MATERIAL_UPLOAD_NOT_FOUND"
    message = "未找到该材料文件"


def ref_of(upload: CaseUpload) -> str:
    return f"{REF_PREFIX}{upload.id}"


async def _owner_person(
    c: Container,
    principal: Principal,
    *,
    person_id: int | None,
    applicant_id_number: str | None,
    case_id: int | None,
) -> tuple[int, int | None]:
    """(applicant person id, case id) the upload is for, if the caller may upload for them."""
    actor = await actor_for(principal)
    if case_id is not None:
        case = await load_case(actor, case_id)
        return case.applicant_id, case.id
    if principal.role is Role.CITIZEN:
        if actor.person_id is None:
            raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
        target = person_id or actor.person_id
        if not await can_act_for(c, actor.person_id, target):
            raise NotFound("未找到该参保人员", code="PERSON_NOT_FOUND")
        return target, None
    if principal.role is Role.STATION_STAFF:
        if not applicant_id_number:
            raise InvalidInput(
                "请填写申请人身份证号（applicant_id_number）", code="APPLICANT_REQUIRED"
            )
        person = await find_person(c, applicant_id_number.strip().upper())
        if person is None:
            raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
        return person.id, None
    raise Forbidden("只有申请人本人或服务站工作人员可以上传材料", code="FORBIDDEN")


async def upload(
    c: Container,
    principal: Principal,
    data: bytes,
    *,
    person_id: int | None = None,
    applicant_id_number: str | None = None,
    case_id: int | None = None,
) -> CaseUpload:
    """Check and store one supporting document for an applicant (or a case)."""
    owner, case = await _owner_person(
        c, principal, person_id=person_id, applicant_id_number=applicant_id_number, case_id=case_id
    )
    checked = await asyncio.to_thread(check_upload, data, limits_of(c.settings))
    now = c.clock.now()
    file_key, image_key = await store(c.storage, f"materials/{now:%Y/%m}/{owner}", checked)
    try:
        row = await CaseUpload.create(
            person_id=owner,
            case_id=case,
            uploaded_by_id=principal.account_id,
            file_key=file_key,
            image_key=image_key,
            content_type=checked.content_type,
            size_bytes=len(checked.original),
            sha256=checked.sha256,
            created_at=now,
        )
        await audit.record(
            c,
            actor=principal,
            action="case.material_uploaded",
            subject_type="person",
            subject_id=owner,
            data={"upload_id": row.id, "type": checked.content_type},
        )
    except BaseException:
        for key in {file_key, image_key}:
            await c.storage.delete(key)
        raise
    return row


async def _may_see(principal: Principal, row: CaseUpload) -> bool:
    if row.uploaded_by_id == principal.account_id:
        return True
    actor = await actor_for(principal)
    if principal.role is Role.CITIZEN and actor.person_id == row.person_id:
        return True
    if row.case_id is None:
        return False
    case = await Case.get(id=row.case_id)
    return can_see(actor, case)


async def load_upload(principal: Principal, upload_id: int) -> CaseUpload:
    row = await CaseUpload.get_or_none(id=upload_id)
    if row is None or not await _may_see(principal, row):
        raise UploadNotFound()
    return row


def upload_view(row: CaseUpload) -> UploadView:
    return UploadView(
        id=row.id,
        file_ref=ref_of(row),
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        case_id=row.case_id,
        created_at=iso(row.created_at),
    )


async def file_of(c: Container, principal: Principal, upload_id: int) -> tuple[bytes, str]:
    """The viewable image (a PDF's rendered first page) and its content type."""
    row = await load_upload(principal, upload_id)
    if principal.is_staff():
        await audit.record(
            c,
            actor=principal,
            action="case.material_viewed",
            subject_type="case",
            subject_id=row.case_id or 0,
            data={"upload_id": row.id},
        )
    content_type = "image/png" if row.image_key.endswith(".png") else row.content_type
    return await c.storage.get(row.image_key), content_type


async def case_materials(c: Container, principal: Principal, case_id: int) -> CaseMaterials:
    """The case's materials with their uploads, for whoever may see the case."""
    case = await load_case(await actor_for(principal), case_id)
    uploads = {ref_of(u): u for u in await CaseUpload.filter(case_id=case.id)}
    items = []
    for m in await CaseMaterial.filter(case_id=case.id).order_by("id"):
        row = uploads.get(m.file_ref)
        upload = upload_view(row) if row else None
        items.append(MaterialWithUpload(m.key, m.name, m.is_key, m.status.value, upload))
    return CaseMaterials(case.id, items)


async def resolve(
    defn: Definition,
    materials: Iterable[Mapping[str, str]],
    *,
    applicant_id: int,
    case_id: int | None = None,
    domain_refs: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Material key → reference, each naming an upload of the applicant or the case.

    ``domain_refs``: material keys whose references the owning domain vouches for."""
    known = {m.key: m for m in defn.materials}
    out: dict[str, str] = {}
    for item in materials:
        key, ref = item.get("key", ""), item.get("file_ref", "")
        if key not in known:
            raise InvalidInput("材料不属于本事项", code="MATERIAL_UNKNOWN", material=key)
        if key in domain_refs:
            out[key] = ref
            continue
        name = known[key].name
        upload_id = ref.removeprefix(REF_PREFIX)
        if not ref.startswith(REF_PREFIX) or not upload_id.isdigit() or len(ref) > 40:
            raise InvalidInput(
                f"材料“{name}”须先上传（POST /api/v1/case-materials），再以返回的 file_ref 引用",
                code="MATERIAL_INVALID",
                material=key,
            )
        row = await CaseUpload.get_or_none(id=int(upload_id))
        mine = row is not None and (
            row.person_id == applicant_id or (case_id is not None and row.case_id == case_id)
        )
        if not mine:
            raise InvalidInput(
                f"材料“{name}”引用的文件不存在或不属于本申请人",
                code="MATERIAL_NOT_FOUND",
                material=key,
            )
        out[key] = ref
    return out


async def attach_form(case: Case, ref: str) -> None:
    """A signed authorisation form uploaded for the applicant is seen with the case, like its
    materials (an upload of anyone else is not attached)."""
    upload_id = ref.removeprefix(REF_PREFIX)
    if ref.startswith(REF_PREFIX) and upload_id.isdigit():
        await CaseUpload.filter(
            id=int(upload_id),
            case_id=None,
            person_id=case.applicant_id,
        ).update(case_id=case.id)


async def attach(case: Case, refs: Mapping[str, str]) -> None:
    """Record the case on the uploads it uses for the first time."""
    ids = [int(r.removeprefix(REF_PREFIX)) for r in refs.values() if r.startswith(REF_PREFIX)]
    if ids:
        await CaseUpload.filter(id__in=ids, case_id=None).update(case_id=case.id)


async def record(c: Container, case: Case, defn: Definition, refs: Mapping[str, str]) -> None:
    """Record the case's materials; one that was missing (容缺) becomes received."""
    await attach(case, refs)
    now = c.clock.now()
    names = {m.key: m for m in defn.materials}
    for key, ref in refs.items():
        m = names[key]
        updated = await CaseMaterial.filter(
            case_id=case.id, key=key, status=MaterialStatus.MISSING
        ).update(file_ref=ref, status=MaterialStatus.RECEIVED, updated_at=now)
        if not updated:
            updated = await CaseMaterial.filter(case_id=case.id, key=key).update(
                file_ref=ref, updated_at=now
            )
        if not updated:
            await CaseMaterial.create(
                case=case,
                key=key,
                name=m.name,
                is_key=m.is_key,
                status=MaterialStatus.PROVIDED,
                file_ref=ref,
                updated_at=now,
            )


async def provided_keys(case: Case) -> set[str]:
    """The keys of the materials the case has (provided at submission or received later)."""
    rows = await CaseMaterial.filter(
        case_id=case.id, status__in=[MaterialStatus.PROVIDED, MaterialStatus.RECEIVED]
    ).values_list("key", flat=True)
    return {str(key) for key in rows}
