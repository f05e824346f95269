"""Chronic and special-disease qualification (门诊慢特病资格认定).

- Applications are cases of ``chronic_disease`` owned by this domain: :func:`submit` (the
  citizen, or station staff with the applicant's authorisation) and :func:`renew` check the
  form against the disease catalogue in force (``config/policy/chronic.yaml``) and derive the
  facts the definition reads: the evidence the disease needs and the fast track (即受即办
  without expert review).
- Expert review: :func:`assess` records the reviewer's verdict on every criterion of the
  disease and decides from them (all met: approve; otherwise reject) in one transaction. The
  ``after_transition`` hook refuses an approval or rejection of a reviewed case without
  verdicts that support it, so the generic decision endpoint cannot bypass the criteria.
- The qualification is recorded on issuance, valid from the approval day (a renewal continues
  the day after the old one ends) for the disease's validity, with the chosen institutions.
  One active qualification per person and disease (row lock on the person, unique slot).
- :func:`remind_renewals` (periodic) reminds holders before expiry and expires lapsed records;
  a compare-and-set on ``reminded_for`` makes it safe to run twice or concurrently.
- :func:`revoke` (reviewer of the chronic category or supervisor) ends a qualification today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access, hooks, owned, review, submission
from backend.cases.assisted import Assistance
from backend.cases.models import Case, CaseTask, InboxMessage, TaskStatus
from backend.cases.submission import NewCase
from backend.chronic.models import ChronicQualification, ChronicVerdict, QualificationStatus
from backend.clock import CHINA_TZ, local_today
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity.models import Role
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from config.policy import ChronicDisease, ChronicPolicy
from workflows.definition import FINAL_STATES
from workflows.definitions.chronic_disease import EVIDENCE
from workflows.vocabulary import CAT_CHRONIC, CHRONIC_DISEASE, OWNERS

SERVICE = CHRONIC_DISEASE
OWNER = OWNERS[SERVICE]
REVIEW_CATEGORY = CAT_CHRONIC
SEPARATOR = "|"

CATEGORY_NAMES = {"chronic": "慢性病", "special": "特殊病"}
STATUS_NAMES = {"active": "有效", "renewed": "已续期", "expired": "已到期", "revoked": "已取消"}
_COVERING = (QualificationStatus.ACTIVE, QualificationStatus.RENEWED)


class QualificationNotFound(NotFound):
    code = "QUALIFICATION_NOT_FOUND"
    message = "未找到该资格记录"


class QualificationChanged(Conflict):
    code = "QUALIFICATION_CHANGED"
    message = "资格记录已被他人处理或已更新，请刷新后重试"


# -- policy ---------------------------------------------------------------------------------


def policy(c: Container, on: date | None = None) -> ChronicPolicy:
    return c.policies.chronic.at(on or local_today(c.clock))


def _disease(pol: ChronicPolicy, code: str) -> ChronicDisease:
    disease = pol.diseases.get(code)
    if disease is None:
        raise InvalidInput("病种编码无效，不在本地门诊慢特病病种目录中",
                           code="DISEASE_UNKNOWN", field="disease_code")  # fmt: skip
    return disease


def catalogue_view(c: Container) -> list[dict[str, Any]]:
    pol = policy(c)
    return [
        {
            "code": code,
            "name": d.name,
            "category": d.category,
            "category_name": CATEGORY_NAMES[d.category],
            "evidence": list(d.evidence),
            "criteria": [{"code": k, "text": v} for k, v in d.criteria.items()],
            "fast_track": d.fast_track,
            "validity_years": d.validity_years,
            "institutions": d.institutions,
        }
        for code, d in pol.diseases.items()
    ]


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# -- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChronicRequest:
    disease_code: str
    diagnosis_date: date
    diagnosis_hospital: str
    diagnosis_hospital_level: int
    designated_institutions: list[str]
    note: str = ""
    materials: list[Mapping[str, str]] = field(default_factory=list)
    delivery_method: str | None = None

    def institutions(self) -> list[str]:
        return [i.strip() for i in self.designated_institutions]

    def form(self, *, renews: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "disease_code": self.disease_code,
            "diagnosis_date": self.diagnosis_date.isoformat(),
            "diagnosis_hospital": self.diagnosis_hospital,
            "diagnosis_hospital_level": str(self.diagnosis_hospital_level),
            "designated_institutions": SEPARATOR.join(self.institutions()),
        }
        if self.note:
            out["note"] = self.note
        if renews is not None:
            out["renews_qualification"] = str(renews)
        return out


def derive(pol: ChronicPolicy, req: ChronicRequest, today: date) -> dict[str, Any]:
    disease = _disease(pol, req.disease_code)
    if req.diagnosis_date > today:
        raise InvalidInput("确诊日期不能晚于今天", code="DIAGNOSIS_DATE_INVALID",
                           field="diagnosis_date")  # fmt: skip
    if req.diagnosis_hospital_level not in (1, 2, 3):
        raise InvalidInput("诊断医院等级应为 1、2 或 3", code="HOSPITAL_LEVEL_INVALID",
                           field="diagnosis_hospital_level")  # fmt: skip
    names = req.institutions()
    if not names or len(names) > disease.institutions:
        raise InvalidInput(
            f"{disease.name}可选择1至{disease.institutions}家定点医疗机构",
            code="INSTITUTIONS_INVALID",
            field="designated_institutions",
        )
    if len(set(names)) != len(names) or any(not 2 <= len(n) <= 60 or SEPARATOR in n for n in names):
        raise InvalidInput("定点医疗机构名称无效或重复", code="INSTITUTIONS_INVALID",
                           field="designated_institutions")  # fmt: skip
    derived: dict[str, Any] = {f"$need_{key}": key in disease.evidence for key, _ in EVIDENCE}
    derived["$fast_track"] = (
        disease.fast_track and req.diagnosis_hospital_level >= disease.fast_track_min_level
    )
    derived["$disease_category"] = disease.category
    return derived


# -- submission -----------------------------------------------------------------------------


async def _check_free(person_id: int, disease_code: str, *, renewing: int | None) -> None:
    """Inside the person's lock: no other active qualification or open application."""
    today_active = await ChronicQualification.get_or_none(
        person_id=person_id, disease_code=disease_code, status=QualificationStatus.ACTIVE
    )
    if today_active is not None and today_active.id != renewing:
        raise Conflict("您已有该病种的有效资格，可在到期前申请续期",
                       code="QUALIFICATION_ACTIVE", qualification_id=today_active.id)  # fmt: skip
    open_cases = await Case.filter(
        applicant_id=person_id,
        service_code=SERVICE,
        state__not_in=[s.value for s in FINAL_STATES],
    ).values_list("id", "form")
    for case_id, form in open_cases:
        if (form or {}).get("disease_code") == disease_code:
            raise Conflict("您已有该病种正在办理的申请，请等待办结或撤回后再申请",
                           code="APPLICATION_IN_PROGRESS", case_id=case_id)  # fmt: skip


def _new_case(req: ChronicRequest, derived: dict[str, Any], form: dict[str, Any]) -> NewCase:
    return NewCase(
        service_code=SERVICE,
        form=form,
        materials=list(req.materials),
        delivery_method=req.delivery_method,
        origin=OWNER,
        derived=derived,
    )


async def submit(
    c: Container,
    principal: Principal,
    req: ChronicRequest,
    assisted: Assistance | None = None,
) -> Case:
    """A citizen applies in the app, or station staff apply for a citizen (``assisted``: the
    applicant's authorisation, a signed form now or a confirmation in the app)."""
    today = local_today(c.clock)
    derived = derive(policy(c, today), req, today)

    async def guard(person_id: int) -> None:
        await _expire_lapsed(c, person_id)
        await _check_free(person_id, req.disease_code, renewing=None)

    new_case = _new_case(req, derived, req.form())
    return await owned.submit_owned(c, principal, new_case, guard, assisted)


def renewal_opens(c: Container, q: ChronicQualification) -> date | None:
    if q.valid_to is None:
        return None
    return q.valid_to - timedelta(days=policy(c).renewal_window_days)


async def renew(
    c: Container, principal: Principal, qualification_id: int, *, version: int,
    req: ChronicRequest,
) -> Case:  # fmt: skip
    """Apply to continue a qualification before it expires (the same disease)."""
    person_id = await access.applicant_person_id(principal)
    q = await ChronicQualification.get_or_none(id=qualification_id, person_id=person_id)
    if q is None:
        raise QualificationNotFound()
    if q.version != version:
        raise QualificationChanged(current_version=q.version)
    today = local_today(c.clock)
    if q.status != QualificationStatus.ACTIVE or (q.valid_to and q.valid_to < today):
        raise Conflict("该资格已失效，请重新申请认定", code="QUALIFICATION_NOT_ACTIVE")
    opens = renewal_opens(c, q)
    if opens is None:
        raise Conflict("该资格长期有效，无需续期", code="RENEWAL_NOT_NEEDED")
    if today < opens:
        raise Conflict(f"到期前{policy(c).renewal_window_days}天内可申请续期，最早可于"
                       f"{opens:%Y年%m月%d日}办理", code="RENEWAL_NOT_OPEN",
                       opens_on=opens.isoformat())  # fmt: skip
    if req.disease_code != q.disease_code:
        raise InvalidInput(
            "续期的病种须与原资格一致", code="DISEASE_MISMATCH", field="disease_code"
        )
    derived = derive(policy(c, today), req, today)
    async with in_transaction():
        await lock_person(person_id)
        if not await ChronicQualification.filter(
            id=q.id, status=QualificationStatus.ACTIVE, version=q.version
        ).exists():
            raise QualificationChanged()
        await _check_free(person_id, q.disease_code, renewing=q.id)
        return await submission.submit(c, principal, _new_case(req, derived, req.form(renews=q.id)))


# -- expert review ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    criterion: str
    met: bool
    note: str = ""


async def _review_task(principal: Principal, task_id: int) -> tuple[CaseTask, Case]:
    task = await CaseTask.get_or_none(id=task_id)
    if (
        task is None
        or task.service_code != SERVICE
        or principal.role is not Role.REVIEWER
        or task.category not in principal.categories
    ):
        raise NotFound("未找到该审核任务", code="TASK_NOT_FOUND")
    return task, await Case.get(id=task.case_id)  # type: ignore[attr-defined]


def _case_disease(c: Container, case: Case) -> ChronicDisease:
    submitted = case.created_at.astimezone(CHINA_TZ).date()
    return _disease(policy(c, submitted), (case.form or {})["disease_code"])


async def criteria_for_task(c: Container, principal: Principal, task_id: int) -> dict[str, Any]:
    task, case = await _review_task(principal, task_id)
    disease = _case_disease(c, case)
    verdicts = await ChronicVerdict.filter(case_id=case.id).order_by("level", "criterion")
    return {
        "task_id": task.id,
        "case_id": case.id,
        "disease_code": case.form["disease_code"],
        "disease_name": disease.name,
        "criteria": [{"code": k, "text": v} for k, v in disease.criteria.items()],
        "verdicts": [
            {"level": v.level, "criterion": v.criterion, "met": v.met, "note": v.note or None}
            for v in verdicts
        ],
    }


async def assess(
    c: Container,
    principal: Principal,
    task_id: int,
    *,
    case_version: int,
    verdicts: list[Verdict],
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """The expert reviewer's verdict on every criterion, and the decision that follows: all
    criteria met → approve; any not met → reject (coded reason, J01 by default)."""
    task, case = await _review_task(principal, task_id)
    if task.status != TaskStatus.CLAIMED or task.holder_id != principal.account_id:
        raise Conflict("请先领取该审核任务", code="TASK_NOT_HELD")
    disease = _case_disease(c, case)
    given = [v.criterion for v in verdicts]
    unknown = sorted(set(given) - set(disease.criteria))
    if unknown:
        raise InvalidInput("评审项不属于该病种的认定标准", code="CRITERION_UNKNOWN",
                           unknown=unknown, criteria=dict(disease.criteria))  # fmt: skip
    if len(set(given)) != len(given):
        raise InvalidInput("同一评审项只能给出一个意见", code="CRITERION_DUPLICATE")
    missing = [k for k in disease.criteria if k not in given]
    if missing:
        raise InvalidInput("请对每一项认定标准给出评审意见", code="CRITERIA_INCOMPLETE",
                           missing={k: disease.criteria[k] for k in missing})  # fmt: skip
    all_met = all(v.met for v in verdicts)
    failed = [disease.criteria[v.criterion] for v in verdicts if not v.met]
    now = c.clock.now()
    async with in_transaction():
        level = case.review_level
        await ChronicVerdict.filter(case_id=case.id, level=level).delete()
        for v in verdicts:
            await ChronicVerdict.create(
                case_id=case.id, level=level, criterion=v.criterion,
                criterion_text=disease.criteria[v.criterion][:200], met=v.met,
                note=v.note[:300], reviewer_id=principal.account_id, created_at=now,
            )  # fmt: skip
        await audit.record(
            c,
            actor=principal,
            action="chronic.assess",
            subject_type="case",
            subject_id=case.id,
            reason=reason_text[:200],
            data={"level": level, "verdicts": {v.criterion: v.met for v in verdicts}},
        )
        if all_met:
            return await review.decide(c, principal, task_id, case_version=case_version,
                                       decision="approve", reason_text=reason_text)  # fmt: skip
        return await review.decide(
            c, principal, task_id, case_version=case_version, decision="reject",
            reason_code=reason_code or "J01",
            reason_text=reason_text or f"不符合认定标准：{'；'.join(failed)}"[:500],
        )  # fmt: skip


# -- hooks: verdicts guard the decision, issuance records the qualification -------------------


async def _check_verdicts(case: Case, name: str) -> None:
    level = case.review_level - 1 if name == "approve_level" else case.review_level
    rows = await ChronicVerdict.filter(case_id=case.id, level=level).values_list("met", flat=True)
    if not rows:
        raise Conflict("请先逐项记录专家评审意见", code="VERDICTS_REQUIRED")
    if name in ("approve", "approve_level") and not all(rows):
        raise Conflict("有认定标准未满足，不能批准", code="VERDICTS_CONTRADICT")
    if name == "reject" and all(rows):
        raise Conflict("各项认定标准均已满足，不能不予批准", code="VERDICTS_CONTRADICT")


async def _after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    if name in ("approve", "approve_level", "reject") and actor.role == "reviewer":
        await _check_verdicts(case, name)
    if name == "issue":
        await _record_qualification(c, case, actor)


async def _record_qualification(c: Container, case: Case, actor: access.Actor) -> None:
    form = case.form or {}
    disease = _case_disease(c, case)
    person_id: int = case.applicant_id  # type: ignore[attr-defined]
    today = local_today(c.clock)
    now = c.clock.now()
    valid_from = today
    renews = int(form["renews_qualification"]) if form.get("renews_qualification") else None
    if renews is not None:
        old = await ChronicQualification.get_or_none(id=renews, person_id=person_id)
        if old is not None and old.status == QualificationStatus.REVOKED:
            raise Conflict("原资格已被取消，续期申请不能批准，请作不予批准处理",
                           code="QUALIFICATION_REVOKED")  # fmt: skip
        if old is not None and old.status == QualificationStatus.ACTIVE:
            if old.valid_to is not None and old.valid_to >= today:
                valid_from = old.valid_to + timedelta(days=1)  # continuity, no gap or overlap
            done = await ChronicQualification.filter(
                id=old.id, status=QualificationStatus.ACTIVE, version=old.version
            ).update(status=QualificationStatus.RENEWED, active_slot=None,
                     version=old.version + 1, updated_at=now)  # fmt: skip
            if done != 1:
                raise QualificationChanged()
    valid_to = (
        _add_years(valid_from, disease.validity_years) - timedelta(days=1)
        if disease.validity_years
        else None
    )
    try:
        async with in_transaction():
            q = await ChronicQualification.create(
                serial=f"MT{case.id:012d}",
                person_id=person_id,
                case=case,
                disease_code=form["disease_code"],
                disease_name=disease.name,
                disease_category=disease.category,
                fast_track=bool(form.get("$fast_track")),
                institutions=form["designated_institutions"].split(SEPARATOR),
                valid_from=valid_from,
                valid_to=valid_to,
                renews_id=renews,
                status=QualificationStatus.ACTIVE,
                active_slot=f"{person_id}:{form['disease_code']}",
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:
        raise Conflict("已有该病种的有效资格", code="QUALIFICATION_ACTIVE") from exc
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


hooks.register(SERVICE, hooks.ServiceHooks(after_transition=_after_transition, owner=OWNER))


# -- revocation, expiry, reminders ----------------------------------------------------------


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
    allowed = principal.role is Role.SUPERVISOR or (
        principal.role is Role.REVIEWER and REVIEW_CATEGORY in principal.categories
    )
    if not allowed:
        raise Forbidden("只有慢特病审核人员或科室负责人可以取消资格", code="NOT_CHRONIC_REVIEWER")
    q = await ChronicQualification.get_or_none(id=qualification_id)
    if q is None:
        raise QualificationNotFound()
    reasons = policy(c).revoke_reasons
    if reason_code not in reasons:
        raise InvalidInput("取消原因代码无效", code="REASON_UNKNOWN", allowed=dict(reasons))
    today = local_today(c.clock)
    if q.status != QualificationStatus.ACTIVE:
        raise Conflict("该资格已失效，无需取消", code="QUALIFICATION_NOT_ACTIVE")
    if q.version != version:
        raise QualificationChanged(current_version=q.version)
    text = reason_text.strip() or reasons[reason_code]
    now = c.clock.now()
    async with in_transaction():
        await lock_person(q.person_id)  # type: ignore[attr-defined]
        chain: list[ChronicQualification] = [q]
        prev_id = q.renews_id
        while prev_id is not None:
            prev = await ChronicQualification.get_or_none(id=prev_id)
            if prev is None or prev.status != QualificationStatus.RENEWED:
                break
            if prev.valid_to is not None and prev.valid_to < today:
                break
            chain.append(prev)
            prev_id = prev.renews_id
        for item in chain:
            done = await ChronicQualification.filter(
                id=item.id, status=item.status, version=item.version
            ).update(
                status=QualificationStatus.REVOKED,
                active_slot=None,
                valid_to=max(item.valid_from, today) - timedelta(days=1),
                end_reason_code=reason_code,
                end_reason=text[:300],
                ended_at=now,
                updated_at=now,
                version=item.version + 1,
            )
            if done != 1:
                raise QualificationChanged()
        await audit.record(
            c,
            actor=principal,
            action="chronic.revoke",
            subject_type="chronic_qualification",
            subject_id=q.id,
            reason=f"{reason_code} {text}",
            data={"serial": q.serial, "disease_code": q.disease_code,
                  "records": [i.id for i in chain]},
        )  # fmt: skip
        await InboxMessage.create(
            person_id=q.person_id,  # type: ignore[attr-defined]
            title="门诊慢特病资格已取消",
            body=f"您的{q.disease_name}门诊慢特病待遇资格（{q.serial}）已取消，原因：{text}"[:300],
            created_at=now,
        )
    return await ChronicQualification.get(id=q.id)


async def _expire_lapsed(c: Container, person_id: int | None = None) -> int:
    query = ChronicQualification.filter(
        status=QualificationStatus.ACTIVE, valid_to__lt=local_today(c.clock)
    )
    if person_id is not None:
        query = query.filter(person_id=person_id)
    now = c.clock.now()
    return await query.update(
        status=QualificationStatus.EXPIRED,
        active_slot=None,
        end_reason="有效期届满",
        ended_at=now,
        updated_at=now,
    )


async def remind_renewals(c: Container) -> dict[str, int]:
    """Periodic: remind holders whose qualification ends within the reminder period (once per
    record, by compare-and-set on ``reminded_for``) and expire lapsed records. Safe to run
    twice or concurrently."""
    today = local_today(c.clock)
    pol = policy(c, today)
    expired = await _expire_lapsed(c)
    due = await ChronicQualification.filter(
        status=QualificationStatus.ACTIVE,
        reminded_for__isnull=True,
        valid_to__gte=today,
        valid_to__lte=today + timedelta(days=pol.reminder_days_before),
    ).order_by("id")
    reminded = 0
    for q in due:
        now = c.clock.now()
        async with in_transaction():
            won = await ChronicQualification.filter(id=q.id, reminded_for__isnull=True).update(
                reminded_for=q.valid_to
            )
            if won != 1:
                continue  # another pass sent it
            await InboxMessage.create(
                person_id=q.person_id,  # type: ignore[attr-defined]
                title="门诊慢特病资格即将到期",
                body=(
                    f"您的{q.disease_name}门诊慢特病待遇资格将于{q.valid_to:%Y年%m月%d日}到期，"
                    "请在到期前通过掌上办或服务站申请续期。"
                ),
                created_at=now,
            )
            await audit.record(
                c,
                actor=None,
                action="chronic.renewal_reminder",
                subject_type="chronic_qualification",
                subject_id=q.id,
                data={"valid_to": q.valid_to.isoformat() if q.valid_to else None},
            )
            reminded += 1
    return {"reminded": reminded, "expired": expired}


# -- queries --------------------------------------------------------------------------------


def qualification_view(c: Container, q: ChronicQualification) -> dict[str, Any]:
    opens = renewal_opens(c, q)
    return {
        "id": q.id,
        "serial": q.serial,
        "case_id": q.case_id,  # type: ignore[attr-defined]
        "disease_code": q.disease_code,
        "disease_name": q.disease_name,
        "category": q.disease_category,
        "category_name": CATEGORY_NAMES.get(q.disease_category, q.disease_category),
        "fast_track": q.fast_track,
        "institutions": list(q.institutions or []),
        "valid_from": q.valid_from.isoformat(),
        "valid_to": q.valid_to.isoformat() if q.valid_to else None,
        "status": str(q.status),
        "status_name": STATUS_NAMES[str(q.status)],
        "renewal_opens_on": opens.isoformat() if opens and q.status == "active" else None,
        "end_reason": q.end_reason or None,
        "version": q.version,
    }


async def my_qualifications(c: Container, principal: Principal) -> list[dict[str, Any]]:
    person_id = await access.applicant_person_id(principal)
    await _expire_lapsed(c, person_id)
    rows = await ChronicQualification.filter(person_id=person_id).order_by("-valid_from", "-id")
    return [qualification_view(c, q) for q in rows]


async def my_qualification(c: Container, principal: Principal, qid: int) -> dict[str, Any]:
    person_id = await access.applicant_person_id(principal)
    await _expire_lapsed(c, person_id)
    q = await ChronicQualification.get_or_none(id=qid, person_id=person_id)
    if q is None:
        raise QualificationNotFound()
    return qualification_view(c, q)


async def active_qualifications(c: Container, person_id: int) -> list[dict[str, Any]]:
    """The qualifications covering today (for the e-voucher answer and the profile)."""
    today = local_today(c.clock)
    rows = (
        await ChronicQualification.filter(
            person_id=person_id, status__in=list(_COVERING), valid_from__lte=today
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .order_by("disease_code")
    )
    return [
        {
            "serial": q.serial,
            "disease_code": q.disease_code,
            "disease_name": q.disease_name,
            "category": q.disease_category,
            "institutions": list(q.institutions or []),
            "valid_from": q.valid_from.isoformat(),
            "valid_to": q.valid_to.isoformat() if q.valid_to else None,
        }
        for q in rows
    ]
