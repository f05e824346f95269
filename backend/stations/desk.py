"""Files a station desk hands in with an assisted request — the citizen's signed authorisation
form, scanned supporting documents — and a case's files for showing them inline.

Uploads are case materials (:mod:`backend.cases.materials`): the same content checks as invoice
photos, stored through the storage interface, each belonging to the applicant the clerk serves
and named ``upload:<id>``. Who may see a file is the rule of the API's case-material routes
(:func:`backend.cases.materials.load_upload`), and staff reads are audited there.
"""

from __future__ import annotations

from typing import Any

from backend.audit.service import record
from backend.cases import materials
from backend.cases.models import CaseAuthorisation, CaseUpload
from backend.container import Container
from backend.errors import Forbidden
from backend.identity.models import Role
from backend.identity.principal import Principal


async def store_upload(
    c: Container, principal: Principal, data: bytes, purpose: str, applicant_id_number: str
) -> str:
    """Check and store one file a clerk uploads for the applicant; its reference for the case."""
    if principal.role is not Role.STATION_STAFF or principal.station_id is None:
        raise Forbidden("只有服务站工作人员可以上传代办材料", code="STATION_ONLY")
    row = await materials.upload(c, principal, data, applicant_id_number=applicant_id_number)
    await record(
        c,
        actor=principal,
        action="station.file_uploaded",
        subject_type="case_upload",
        subject_id=row.id,
        data={"purpose": purpose[:40]},
    )
    return materials.ref_of(row)


async def case_files(c: Container, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """The uploads of a case's materials (the list of ``GET /cases/{id}/materials``) and its
    signed authorisation form: name, upload id and whether it is a PDF."""
    listed = await materials.case_materials(c, principal, case_id)
    out = [
        {"name": i.name, "id": i.upload.id, "content_type": i.upload.content_type}
        for i in listed.items
        if i.upload
    ]
    auth = await CaseAuthorisation.get_or_none(case_id=case_id)
    upload_id = auth.form_ref.removeprefix(materials.REF_PREFIX) if auth else ""
    if auth is not None and upload_id.isdigit():
        row = await CaseUpload.get_or_none(id=int(upload_id), case_id=case_id)
        if row is not None:
            name = f"代办授权书 {auth.form_number}"
            out.append({"name": name, "id": row.id, "content_type": row.content_type})
    return out


async def original_file(c: Container, principal: Principal, upload_id: int) -> tuple[bytes, str]:
    """The file as uploaded (a PDF to embed), for whoever the API shows the upload to."""
    row = await materials.load_upload(principal, upload_id)
    if principal.is_staff():
        await record(
            c,
            actor=principal,
            action="case.material_viewed",
            subject_type="case",
            subject_id=row.case_id or 0,
            data={"upload_id": row.id, "original": True},
        )
    return await c.storage.get(row.file_key), row.content_type
