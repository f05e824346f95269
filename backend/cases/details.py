"""A case as people see it: its summary, its detail (masked), its documents, its timeline
and its review tasks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from backend.cases.access import Actor, load_case
from backend.cases.forms import masked_form
from backend.cases.models import (
    Case,
    CaseAuthorisation,
    CaseDocument,
    CaseEvent,
    CaseMaterial,
    CaseTask,
)
from backend.cases.policy import definition_of
from backend.cases.results import (
    ApplicantName,
    AuthorisationStatus,
    CaseDetail,
    CaseSummary,
    IssuedDocument,
    MaterialStatus,
    RatingGiven,
    TaskSummary,
    VerifiedDocument,
)
from backend.clock import iso
from backend.container import Container
from backend.errors import NotFound
from backend.identity.models import Person
from backend.infra.crypto import mask_name
from workflows.definition import OPEN_STATES, STATE_LABELS, CaseState
from workflows.sla import sla_state


def case_summary(c: Container, case: Case) -> CaseSummary:
    defn = definition_of(c, case)
    now = c.clock.now()
    open_case = CaseState(case.state) in OPEN_STATES
    return CaseSummary(
        id=case.id,
        number=case.number,
        service_code=case.service_code,
        service_name=defn.name,
        definition_version=case.definition_version,
        state=case.state,
        state_label=STATE_LABELS[case.state],
        version=case.version,
        channel=case.channel,
        station_id=case.station_id,
        submitted_at=iso(case.submitted_at),
        due_at=iso(case.due_at),
        sla=(
            sla_state(
                now, due=case.due_at, warn=case.warning_at, paused=case.sla_paused_at is not None
            ).value
            if open_case
            else ("on_time" if case.on_time else "late" if case.on_time is False else None)
        ),
        completed_at=iso(case.completed_at),
        outcome=case.outcome or None,
    )


async def case_detail(c: Container, actor: Actor, case_id: int) -> CaseDetail:
    case = await load_case(actor, case_id)
    defn = definition_of(c, case)
    applicant = await Person.get(id=case.applicant_id)
    materials = await CaseMaterial.filter(case_id=case.id).order_by("id")
    auth = await CaseAuthorisation.get_or_none(case_id=case.id)
    doc = await CaseDocument.get_or_none(case_id=case.id)
    tasks = []
    if actor.principal is not None and actor.principal.is_staff():
        tasks = [task_view(t) for t in await CaseTask.filter(case_id=case.id).order_by("id")]
    return CaseDetail(
        **asdict(case_summary(c, case)),
        category=case.category,
        applicant=ApplicantName(mask_name(applicant.name)),
        assisted=case.channel == "station",
        agent_name=case.agent_name,
        form=masked_form(c, defn, case),
        amount=str(case.amount) if case.amount is not None else None,
        materials=[MaterialStatus(m.key, m.name, m.is_key, m.status.value) for m in materials],
        open_gaps=case.open_gaps,
        tolerance_due_at=iso(case.tolerance_due_at),
        review_level=case.review_level,
        required_levels=case.required_levels,
        reason_code=case.reason_code or None,
        reason_text=case.reason_text or None,
        delivery_method=case.delivery_method,
        authorisation=(
            AuthorisationStatus(
                method=auth.method.value,
                status=auth.status.value,
                form_number=auth.form_number or None,
                form_ref=auth.form_ref or None,
                decided_at=iso(auth.decided_at),
            )
            if auth
            else None
        ),
        document=document_view(doc) if doc else None,
        rating=(
            RatingGiven(case.rating, case.rating_comment, iso(case.rated_at))
            if case.rating is not None
            else None
        ),
        tasks=tasks,
    )


def document_view(doc: CaseDocument) -> IssuedDocument:
    return IssuedDocument(
        title=doc.title,
        outcome=doc.outcome,
        verification_code=doc.verification_code,
        delivery_method=doc.delivery_method,
        issued_at=iso(doc.issued_at),
        content=doc.content,
    )


async def document_for(actor: Actor, case_id: int) -> CaseDocument:
    case = await load_case(actor, case_id)
    doc = await CaseDocument.get_or_none(case_id=case.id)
    if doc is None:
        raise NotFound("该办件尚未出件", code="DOCUMENT_NOT_ISSUED")
    return doc


async def verify_document(code: str) -> VerifiedDocument:
    """Public verification of a result document: only masked facts."""
    doc = await CaseDocument.get_or_none(verification_code=code.strip().upper())
    if doc is None:
        raise NotFound("验证码无效，未找到对应的办理结果", code="DOCUMENT_NOT_FOUND")
    return VerifiedDocument(**asdict(document_view(doc)), valid=True)


async def timeline(c: Container, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The citizen-readable steps; staff also see internal steps (claims, reassignments)."""
    case = await load_case(actor, case_id)
    staff = actor.principal is not None and actor.principal.is_staff()
    query = CaseEvent.filter(case_id=case.id)
    if not staff:
        query = query.filter(citizen_text__not_isnull=True)
    out = []
    for e in await query.order_by("id"):
        item: dict[str, Any] = {
            "at": iso(e.at),
            "action": e.action,
            "from": e.from_state or None,
            "to": e.to_state,
            "text": e.citizen_text,
        }
        if staff:
            item |= {
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "reason_code": e.reason_code or None,
                "reason_text": e.reason_text or None,
            }
        out.append(item)
    return out


def task_view(t: CaseTask) -> TaskSummary:
    return TaskSummary(
        id=t.id,
        case_id=t.case_id,
        level=t.level,
        category=t.category,
        status=t.status.value,
        service_code=t.service_code,
        station_id=t.station_id,
        due_at=iso(t.due_at),
        escalated=t.escalated,
        holder_id=t.holder_id,
        claimed_at=iso(t.claimed_at),
    )
