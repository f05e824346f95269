"""Files a station desk hands in with an assisted request — the citizen's signed authorisation
form, scanned supporting documents — and reading a case's files back for the people who may
see the case.

Uploads are case materials (:mod:`backend.cases.materials`): the same content checks as invoice
photos, stored through the storage interface, each belonging to the applicant the clerk serves
and named ``upload:<id>``. A file is only readable here through a case that refers to it (a
material's or the authorisation's reference), and staff reads are audited.
"""

from __future__ import annotations

from backend.audit.service import record
from backend.cases import materials
from backend.cases.access import actor_for, load_case
from backend.cases.models import CaseAuthorisation, CaseMaterial, CaseUpload
from backend.container import Container
from backend.errors import Forbidden, NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.infra.storage import FileMissing


async def store_upload(
    c: Container, principal: Principal, data: bytes, purpose: str, applicant_id_number: str
) -> str:
    """Check and store one file a clerk uploads for the applicant; its reference for the case."""
    if principal.role is not Role.STATION_STAFF or principal.station_id is None:
        raise Forbidden("只有服务站工作人员可以上传代办材料", code="STATION_ONLY")
    row = await materials.upload(c, principal, data, applicant_id_number=applicant_id_number)
    await record(c, actor=principal, action="station.file_uploaded", subject_type="case_upload",
                 subject_id=row.id, data={"purpose": purpose[:40]})  # fmt: skip
    return materials.ref_of(row)


async def case_file(
    c: Container, principal: Principal, case_id: int, ref: str
) -> tuple[bytes, str]:
    """A file the case refers to, for whoever may see the case (others: not found)."""
    case = await load_case(await actor_for(principal), case_id)
    referred = await CaseMaterial.exists(case_id=case.id, file_ref=ref) or (
        await CaseAuthorisation.exists(case_id=case.id, form_ref=ref)
    )
    upload_id = ref.removeprefix(materials.REF_PREFIX)
    row = await CaseUpload.get_or_none(id=int(upload_id)) if upload_id.isdigit() else None
    if not referred or row is None:
        raise NotFound("未找到该材料文件", code="FILE_NOT_FOUND")
    try:
        data = await c.storage.get(row.image_key)
    except FileMissing:
        raise NotFound("未找到该材料文件", code="FILE_NOT_FOUND") from None
    if principal.is_staff():
        await record(c, actor=principal, action="case.file_viewed", subject_type="case",
                     subject_id=case.id, data={"ref": ref})  # fmt: skip
    return data, "image/png" if row.image_key.endswith(".png") else row.content_type


async def case_files(c: Container, principal: Principal, case_id: int) -> list[dict[str, str]]:
    """The stored files a case refers to (name and reference), for showing them inline."""
    case = await load_case(await actor_for(principal), case_id)
    out = [
        {"name": m.name, "ref": m.file_ref}
        for m in await CaseMaterial.filter(case_id=case.id).order_by("id")
        if m.file_ref.startswith(materials.REF_PREFIX)
    ]
    auth = await CaseAuthorisation.get_or_none(case_id=case.id)
    if auth is not None and auth.form_ref.startswith(materials.REF_PREFIX):
        out.append({"name": f"代办授权书 {auth.form_number}", "ref": auth.form_ref})
    return out
