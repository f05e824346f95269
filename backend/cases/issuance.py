"""Issuance (统一出件): the result document with its verification code, and the issue step."""

from __future__ import annotations

import secrets

from backend.cases.access import SYSTEM_ACTOR
from backend.cases.engine import fire
from backend.cases.forms import masked_form
from backend.cases.models import Case, CaseDocument
from backend.container import Container
from backend.identity.models import Person
from backend.infra.crypto import mask_name
from workflows.definition import Definition


def _verification_code() -> str:
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def issue_document(
    c: Container, case: Case, defn: Definition, *, outcome: str
) -> CaseDocument:
    """The result document (approval or 不予批准决定书) with masked facts only."""
    applicant = await Person.get(id=case.applicant_id)
    content = {
        "case_number": case.number,
        "service": defn.name,
        "applicant": mask_name(applicant.name),
        "outcome": outcome,
        "details": masked_form(c, defn, case),
        "reason": case.reason_text if outcome == "rejected" else "",
    }
    title = defn.issuance.document_title if outcome == "approved" else f"{defn.name}不予批准决定书"
    return await CaseDocument.create(
        case=case,
        verification_code=_verification_code(),
        title=title[:60],
        outcome=outcome,
        content=content,
        delivery_method=case.delivery_method,
        issued_at=c.clock.now(),
    )


_DELIVERY_NOTE = {
    "app": "可在掌上办查看电子结果",
    "station": "请到服务站领取",
    "mail": "将邮寄送达",
}


async def issue(c: Container, case: Case, defn: Definition) -> None:
    """Issue an approved case: the transition and its approval document."""
    await fire(
        c, case, defn, "issue", SYSTEM_ACTOR, note=_DELIVERY_NOTE.get(case.delivery_method, "")
    )
    await issue_document(c, case, defn, outcome="approved")
