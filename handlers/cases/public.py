"""Cases, public: the service catalogue and the verification of an issued document."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi

from backend.cases import catalogue, details
from backend.cases.results import VerifiedDocument
from backend.errors import NotFound
from handlers.cases import bp
from handlers.contract import errors, responds
from handlers.request import container
from handlers.responses.cases import ServiceListOut, VerifyDocumentOut


@bp.get("/services")
@openapi.summary("可办理的服务事项及其材料清单、办理时限")
@responds(ServiceListOut)
async def list_services(request: Request) -> HTTPResponse:
    return json({"items": catalogue.list_services(container(request))})


@bp.get("/case-documents/verify/<code:str>")
@openapi.summary("核验办件结果文书（按核验码，公开）")
@errors(404, "DOCUMENT_NOT_FOUND")
@responds(VerifyDocumentOut)
async def verify_document(request: Request, code: str) -> VerifiedDocument:
    if len(code) > 20:  # the longest code issued
        raise NotFound("验证码无效，未找到对应的办理结果", code="DOCUMENT_NOT_FOUND")
    return await details.verify_document(code)
