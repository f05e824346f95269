"""Supporting documents (材料) of cases: upload, list, view.

``POST /case-materials`` is ``multipart/form-data`` with the file in the part ``file`` (JPEG,
PNG or PDF, checked like invoice photos) and, as form fields, whose document it is: nothing (the
citizen's own), ``person_id`` (a family member the citizen may act for), ``applicant_id_number``
(a station clerk's applicant) or ``case_id`` (a case the caller may see). The answer's
``file_ref`` is what a case names in its ``materials``.
"""

from __future__ import annotations

from pydantic import Field, StrictInt, ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext.extensions.openapi import openapi

from backend.cases import materials as service
from backend.cases.results import CaseMaterials, UploadView
from backend.errors import InvalidInput
from backend.identity.models import Role
from handlers.contract import errors, multipart, responds
from handlers.request import container, principal, requires, upload_errors, uploaded_file
from handlers.responses.base import Out
from handlers.schemas import IdNumber, Strict

bp = Blueprint("case_materials")
STAFF = (Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


class UploadOut(Out):
    id: int
    file_ref: str  # what a case's materials name: upload:<id>
    content_type: str
    size_bytes: int
    case_id: int | None
    created_at: str


class MaterialItemOut(Out):
    key: str
    name: str
    is_key: bool
    status: str
    upload: UploadOut | None


class CaseMaterialsOut(Out):
    case_id: int
    items: list[MaterialItemOut]


class UploadFor(Strict):
    person_id: StrictInt | None = Field(default=None, ge=1)
    applicant_id_number: IdNumber | None = None
    case_id: StrictInt | None = Field(default=None, ge=1)


def _upload_for(request: Request) -> UploadFor:
    raw_form = {k: v[0] for k, v in (request.form or {}).items() if v}
    for name in ("person_id", "case_id"):
        if name in raw_form:
            value = raw_form[name]
            raw_form[name] = int(value) if value.isdigit() else value
    try:
        return UploadFor.model_validate(raw_form)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInput("上传参数不正确", code="UPLOAD_FOR_INVALID", fields=problems) from exc


@bp.post("/case-materials")
@multipart(
    file=("材料扫描件或照片（JPEG、PNG）或一页 PDF，按内容识别类型", "application/octet-stream")
)
@openapi.summary(
    "上传办件材料（multipart/form-data，字段名 file；可选表单字段 person_id 家庭成员、"
    "applicant_id_number 服务站代办的申请人、case_id 已提交的办件）"
)
@requires(Role.CITIZEN, Role.STATION_STAFF)
@errors(403, "BINDING_REQUIRED", "FORBIDDEN")
@errors(404, "PERSON_NOT_FOUND", "CASE_NOT_FOUND")
@errors(422, "APPLICANT_REQUIRED", "UPLOAD_FOR_INVALID")
@upload_errors
@responds(UploadOut, status=201)
async def upload_material(request: Request) -> UploadView:
    data = uploaded_file(request)
    target = _upload_for(request)
    row = await service.upload(container(request), principal(request), data, **target.model_dump())
    return service.upload_view(row)


@bp.get("/case-materials/<upload_id:int>")
@openapi.summary("办件材料的信息")
@requires(Role.CITIZEN, *STAFF)
@errors(404, "MATERIAL_UPLOAD_NOT_FOUND")
@responds(UploadOut)
async def get_material(request: Request, upload_id: int) -> UploadView:
    return service.upload_view(await service.load_upload(principal(request), upload_id))


@bp.get("/case-materials/<upload_id:int>/file")
@openapi.summary("查看办件材料（PDF 为第一页的图像）")
@requires(Role.CITIZEN, *STAFF)
@errors(404, "MATERIAL_UPLOAD_NOT_FOUND")
@responds(None, binary_types=("image/jpeg", "image/png"))
async def material_file(request: Request, upload_id: int) -> HTTPResponse:
    data, content_type = await service.file_of(container(request), principal(request), upload_id)
    return raw(
        data,
        content_type=content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@bp.get("/cases/<case_id:int>/materials")
@openapi.summary("办件的材料清单及其上传文件")
@requires(Role.CITIZEN, *STAFF)
@errors(404, "CASE_NOT_FOUND")
@responds(CaseMaterialsOut)
async def case_materials(request: Request, case_id: int) -> CaseMaterials:
    return await service.case_materials(container(request), principal(request), case_id)
