"""Chronic-disease qualification records: recorded on issuance, revoked, reminded, expired.

- The qualification is recorded on issuance, valid from the approval day (a renewal continues
  the day after the old one ends) for the disease's validity, with the chosen institutions.
  One active qualification per person and disease (row lock on the person, unique slot).
- :func:`remind_renewals` (periodic) reminds holders before expiry and writes the expiry of
  lapsed records; a compare-and-set on ``reminded_for`` makes it safe to run twice or
  concurrently.
- :func:`revoke` (reviewer of the chronic category or supervisor) ends a qualification today.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access
from backend.cases.models import Case, InboxMessage
from backend.chronic.entitlement import SPEC, QualificationChanged, case_disease, policy
from backend.chronic.models import ChronicQualification, QualificationStatus
from backend.chronic.review import check_verdicts
from backend.clock import local_today
from backend.container import Container
from backend.entitlements import template
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.identity.models import Role
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from workflows.vocabulary import CAT_CHRONIC

SEPARATOR = "|"  # between the designated institutions in the application's form


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# -- issuance: the hook records the qualification ---------------------------------------------


async def after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    if name in ("approve", "approve_level", "reject") and actor.role == "reviewer":
        await check_verdicts(case, name)
    if name == "issue":
        await _record_qualification(c, case, actor)


async def _supersede(person_id: int, renews: int, today: date, now: datetime) -> date:
    """A renewal marks the qualification it continues as renewed; the new one starts the day
    after the old one ends (no gap, no overlap), or today."""
    old = await ChronicQualification.get_or_none(id=renews, person_id=person_id)
    if old is not None and old.status == QualificationStatus.REVOKED:
        raise Conflict(
            "原资格已被取消，续期申请不能批准，请作不予批准处理", code="QUALIFICATION_REVOKED"
        )
    if old is None or old.status != QualificationStatus.ACTIVE:
        return today
    await template.end(SPEC, old, now, status=QualificationStatus.RENEWED)
    if old.valid_to is not None and old.valid_to >= today:
        return old.valid_to + timedelta(days=1)
    return today


async def _record_qualification(c: Container, case: Case, actor: access.Actor) -> None:
    form = case.form or {}
    disease = case_disease(c, case)
    today = local_today(c.clock)
    now = c.clock.now()
    renews = int(form["renews_qualification"]) if form.get("renews_qualification") else None
    valid_from = today
    if renews is not None:
        valid_from = await _supersede(case.applicant_id, renews, today, now)
    valid_to = (
        _add_years(valid_from, disease.validity_years) - timedelta(days=1)
        if disease.validity_years
        else None
    )
    q = await template.record(
        SPEC,
        case,
        form["disease_code"],
        now,
        disease_name=disease.name,
        disease_category=disease.category,
        fast_track=bool(form.get("$fast_track")),
        institutions=form["designated_institutions"].split(SEPARATOR),
        valid_from=valid_from,
        valid_to=valid_to,
        renews_id=renews,
    )
    await audit.record(
        c,
        actor=actor.principal,
        action="chronic.qualify",
        subject_type="chronic_qualification",
        subject_id=q.id,
        data={
            "case_id": case.id,
            "disease_code": q.disease_code,
            "fast_track": q.fast_track,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "renews": renews,
        },
    )


# -- revocation -------------------------------------------------------------------------------


async def _revocable(
    c: Container, principal: Principal, qualification_id: int, version: int, reason_code: str
) -> ChronicQualification:
    allowed = principal.role is Role.SUPERVISOR or (
        principal.role is Role.REVIEWER and CAT_CHRONIC in principal.categories
    )
    if not allowed:
        raise Forbidden("只有慢特病审核人员或科室负责人可以取消资格", code="NOT_CHRONIC_REVIEWER")
    q = await ChronicQualification.get_or_none(id=qualification_id)
    if q is None:
        raise SPEC.not_found()
    reasons = policy(c).revoke_reasons
    if reason_code not in reasons:
        raise InvalidInput("取消原因代码无效", code="REASON_UNKNOWN", allowed=dict(reasons))
    if not template.in_force(SPEC, q, local_today(c.clock)):
        raise Conflict("该资格已失效，无需取消", code="QUALIFICATION_NOT_ACTIVE")
    if q.version != version:
        raise QualificationChanged(current_version=q.version)
    return q


async def _chain(q: ChronicQualification, today: date) -> list[ChronicQualification]:
    """The qualification and the renewed predecessors still running."""
    chain = [q]
    prev_id = q.renews_id
    while prev_id is not None:
        prev = await ChronicQualification.get_or_none(id=prev_id)
        if prev is None or prev.status != QualificationStatus.RENEWED:
            break
        if prev.valid_to is not None and prev.valid_to < today:
            break
        chain.append(prev)
        prev_id = prev.renews_id
    return chain


async def revoke(
    c: Container,
    principal: Principal,
    qualification_id: int,
    *,
    version: int,
    reason_code: str,
    reason_text: str = "",
) -> ChronicQualification:
    """取消资格: by a reviewer of the chronic category or a supervisor; it ends today (and so
    does a renewed predecessor still running)."""
    q = await _revocable(c, principal, qualification_id, version, reason_code)
    text = reason_text.strip() or policy(c).revoke_reasons[reason_code]
    today = local_today(c.clock)
    now = c.clock.now()
    async with in_transaction():
        await lock_person(q.person_id)
        chain = await _chain(q, today)
        for item in chain:
            await template.end(
                SPEC,
                item,
                now,
                status=QualificationStatus.REVOKED,
                valid_to=max(item.valid_from, today) - timedelta(days=1),
                end_reason_code=reason_code,
                end_reason=text[:300],
                ended_at=now,
            )
        await audit.record(
            c,
            actor=principal,
            action="chronic.revoke",
            subject_type="chronic_qualification",
            subject_id=q.id,
            reason=f"{reason_code} {text}",
            data={
                "serial": q.serial,
                "disease_code": q.disease_code,
                "records": [i.id for i in chain],
            },
        )
        await InboxMessage.create(
            person_id=q.person_id,
            title="门诊慢特病资格已取消",
            body=f"您的{q.disease_name}门诊慢特病待遇资格（{q.serial}）已取消，原因：{text}"[:300],
            created_at=now,
        )
    return await ChronicQualification.get(id=q.id)


# -- the periodic job: reminders and expiry ---------------------------------------------------


async def _remind(c: Container, q: ChronicQualification) -> bool:
    """One reminder per record and end date: the compare-and-set decides who sends it."""
    async with in_transaction():
        won = await ChronicQualification.filter(id=q.id, reminded_for__isnull=True).update(
            reminded_for=q.valid_to
        )
        if won != 1:
            return False  # another pass sent it
        await InboxMessage.create(
            person_id=q.person_id,
            title="门诊慢特病资格即将到期",
            body=(
                f"您的{q.disease_name}门诊慢特病待遇资格将于{q.valid_to:%Y年%m月%d日}到期，"
                "请在到期前通过掌上办或服务站申请续期。"
            ),
            created_at=c.clock.now(),
        )
        await audit.record(
            c,
            actor=None,
            action="chronic.renewal_reminder",
            subject_type="chronic_qualification",
            subject_id=q.id,
            data={"valid_to": q.valid_to.isoformat() if q.valid_to else None},
        )
    return True


async def remind_renewals(c: Container) -> dict[str, int]:
    """Periodic: remind holders whose qualification ends within the reminder period (once per
    record, by compare-and-set on ``reminded_for``) and write the expiry of lapsed records.
    Safe to run twice or concurrently."""
    today = local_today(c.clock)
    pol = policy(c, today)
    expired = await template.expire_lapsed(c, SPEC)
    due = await ChronicQualification.filter(
        status=QualificationStatus.ACTIVE,
        reminded_for__isnull=True,
        valid_to__gte=today,
        valid_to__lte=today + timedelta(days=pol.reminder_days_before),
    ).order_by("id")
    reminded = 0
    for q in due:
        reminded += await _remind(c, q)
    return {"reminded": reminded, "expired": expired}
