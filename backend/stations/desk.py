"""Files a station desk hands in with an assisted request — the citizen's signed authorisation
form, scanned supporting documents — and reading a case's files back for the people who may
see the case.

Uploads get the same content checks as invoice photos (type by content, size, pixel and
decompression limits, PDF page count: :func:`backend.claims.uploads.check_upload`) and go
through the storage interface. A stored file is only readable through a case that refers to it
(a material's or the authorisation's reference), and staff reads are audited.
"""

from __future__ import annotations

import asyncio
import uuid

from backend.audit.service import record
from backend.cases.models import CaseAuthorisation, CaseMaterial
from backend.cases.service import actor_for, load_case
from backend.claims.service import limits
from backend.claims.uploads import check_upload
from backend.container import Container
from backend.errors import Forbidden, NotFound
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.infra.storage import FileMissing

PREFIX = "station-uploads"
TYPES = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


async def store_upload(c: Container, principal: Principal, data: bytes, purpose: str) -> str:
    """Check and store one file a clerk uploads; returns its reference for the case."""
    if principal.role is not Role.STATION_STAFF or principal.station_id is None:
        raise Forbidden("只有服务站工作人员可以上传代办材料", code="STATION_ONLY")
    upload = await asyncio.to_thread(check_upload, data, limits(c))
    now = c.clock.now()
    ref = f"{PREFIX}/{principal.station_id}/{now:%Y/%m}/{uuid.uuid4().hex}.{upload.extension}"
    await c.storage.put(ref, upload.original, upload.content_type)
    await record(
        c,
        actor=principal,
        action="station.file_uploaded",
        subject_type="station_file",
        subject_id=ref,
        data={"purpose": purpose[:40], "type": upload.content_type, "bytes": len(data)},
    )
    return ref


async def case_file(
    c: Container, principal: Principal, case_id: int, ref: str
) -> tuple[bytes, str]:
    """A file the case refers to, for whoever may see the case (others: not found)."""
    case = await load_case(await actor_for(principal), case_id)
    referred = await CaseMaterial.exists(case_id=case.id, file_ref=ref) or (
        await CaseAuthorisation.exists(case_id=case.id, form_ref=ref)
    )
    extension = ref.rsplit(".", 1)[-1]
    if not referred or not ref.startswith(PREFIX + "/") or extension not in TYPES:
        raise NotFound("未找到该材料文件", code="FILE_NOT_FOUND")
    try:
        data = await c.storage.get(ref)
    except FileMissing:
        raise NotFound("未找到该材料文件", code="FILE_NOT_FOUND") from None
    if principal.is_staff():
        await record(
            c,
            actor=principal,
            action="case.file_viewed",
            subject_type="case",
            subject_id=case.id,
            data={"ref": ref},
        )
    return data, TYPES[extension]


async def case_files(c: Container, principal: Principal, case_id: int) -> list[dict[str, str]]:
    """The stored files a case refers to (name and reference), for showing them inline."""
    case = await load_case(await actor_for(principal), case_id)
    out = [
        {"name": m.name, "ref": m.file_ref}
        for m in await CaseMaterial.filter(case_id=case.id).order_by("id")
        if m.file_ref.startswith(PREFIX + "/")
    ]
    auth = await CaseAuthorisation.get_or_none(case_id=case.id)
    if auth is not None and auth.form_ref.startswith(PREFIX + "/"):
        out.append({"name": f"代办授权书 {auth.form_number}", "ref": auth.form_ref})
    return out
