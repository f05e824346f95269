"""Case service: submission, front-desk acceptance, review, issuance, rating.

Every state change goes through :func:`_apply`: the pure engine (:func:`workflows.engine.plan`)
decides whether the transition may fire, then one conditional UPDATE moves the case
``WHERE id=? AND state=? AND version=?``; zero rows means someone else moved it first and the
caller gets 409. The event, the audit entry, the citizen's timeline entry and inbox message
are written in the same transaction, so they commit or fail with the change.
"""

from __future__ import annotations

import importlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import materials as case_materials
from backend.cases.errors import (
    CaseNotFound,
    ItemNotDelegated,
    StaleCase,
    TaskNotFound,
    TaskTaken,
    UnknownReason,
    UnknownService,
)
from backend.cases.models import (
    AuthorisationMethod,
    AuthorisationStatus,
    Case,
    CaseAuthorisation,
    CaseDocument,
    CaseEvent,
    CaseMaterial,
    CaseTask,
    InboxMessage,
    MaterialStatus,
    SlaFlag,
    TaskStatus,
)
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity.models import Account, Person, Role
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from backend.infra.crypto import mask_address, mask_bank_account, mask_phone
from backend.stations.models import Station
from config.policy import CaseWorkflowPolicy, Policies, PolicyError
from workflows import registry as wf_registry
from workflows.calendar import WorkingCalendar
from workflows.definition import (
    FINAL_STATES,
    RATABLE_STATES,
    STATE_LABELS,
    CaseState,
    Channel,
    Definition,
    FieldType,
    FormProblem,
    Transition,
    clean_form,
    facts_for,
    is_instant,
    missing_materials,
    required_review_levels,
)
from workflows.engine import Facts, TransitionRefused, plan
from workflows.sla import ClockRule, LimitUnit, TimeLimit, due_at, resumed_due, warning_at
from workflows.vocabulary import FRONT_DESK

FRONT_DESK_CATEGORY = FRONT_DESK  # reviewers with this category do 综合受理 of app requests
FORM_FIELD = "case_form"
ADDRESS_FIELD = "case_delivery_address"

# -- policy and definitions ---------------------------------------------------------------------


def definitions() -> wf_registry.Registry:
    return wf_registry.REGISTRY


def definition_of(case: Case) -> Definition:
    return definitions().get(case.service_code, case.definition_version)


# -- service hooks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceHooks:
    """What a service's own domain adds to the engine (registered by that domain's module).

    - ``readiness(c, case)``: the open items that block the transitions guarded by
      ``service_ready`` (e.g. invoices not yet confirmed); an empty list when ready.
    - ``after_transition(c, case, transition_name, actor)``: runs inside the transaction of
      every transition of the service's cases (e.g. create the payout on approval).
    - ``owner``: cases of the service are created only by that domain (``NewCase.origin``),
      not directly through ``POST /cases``.
    """

    readiness: Callable[[Container, Case], Awaitable[list[str]]] | None = None
    after_transition: Callable[[Container, Case, str, Actor], Awaitable[None]] | None = None
    owner: str | None = None


HOOKS: dict[str, ServiceHooks] = {}

# Domain modules that register hooks when imported; loaded at start-up by check_definitions,
# so that no process (web worker, `yibao worker`) runs a service without its domain.
SERVICE_DOMAINS = (
    "backend.identity.info_change",
    "backend.filings.service",
    "backend.chronic.service",
    "backend.claims.hooks",
)


def register_hooks(service_code: str, hooks: ServiceHooks) -> None:
    HOOKS[service_code] = hooks


async def _blockers(c: Container, case: Case, defn: Definition) -> tuple[str, ...]:
    if not any("service_ready" in t.guards for t in defn.transitions):
        return ()
    hooks = HOOKS.get(case.service_code)
    if hooks is None or hooks.readiness is None:  # fail closed: nobody vouched for readiness
        return ("SERVICE_HOOKS_MISSING",)
    return tuple(await hooks.readiness(c, case))


async def update_assessment(
    c: Container,
    case: Case,
    *,
    amount: Decimal | None,
    required_levels: int,
    data: Mapping[str, Any] | None = None,
) -> Case:
    """A service's domain sets the case amount and the review levels it needs once it has
    assessed the case in review (e.g. the reimbursable amount known only after the reviewer
    confirmed the invoices). Compare-and-set on (state, version); never below the level under
    review. Call inside a transaction."""
    if case.state != CaseState.IN_REVIEW:
        raise Conflict("办件不在审核中", code="INVALID_STATE", state=case.state)
    levels = max(required_levels, case.review_level, 1)
    now = c.clock.now()
    moved = await Case.filter(id=case.id, state=case.state, version=case.version).update(
        amount=amount, required_levels=levels, version=case.version + 1, updated_at=now
    )
    if moved != 1:
        raise StaleCase(case_id=case.id)
    case.amount, case.required_levels, case.version = amount, levels, case.version + 1
    await _record(c, case, "assess", SYSTEM_ACTOR, source=case.state, target=case.state,
                  data={"amount": str(amount) if amount is not None else None,
                        "required_levels": levels, **(data or {})})  # fmt: skip
    return case


_CALENDARS: dict[int, tuple[Policies, WorkingCalendar]] = {}


def _calendar_for(policies: Policies) -> WorkingCalendar:
    cached = _CALENDARS.get(id(policies))
    if cached is not None and cached[0] is policies:
        return cached[1]
    years = policies.holidays.versions
    cal = WorkingCalendar.build(
        holidays=[d for y in years for d in y.holidays],
        adjusted_workdays=[d for y in years for d in y.adjusted_workdays],
        years=[y.year for y in years],
        tz=CHINA_TZ,
    )
    _CALENDARS[id(policies)] = (policies, cal)
    return cal


def calendar(c: Container) -> WorkingCalendar:
    return _calendar_for(c.policies)


def _local(c: Container, moment: datetime | None = None) -> date:
    return (moment or c.clock.now()).astimezone(CHINA_TZ).date()


def workflow_policy(c: Container, on: date | None = None) -> CaseWorkflowPolicy:
    return c.policies.case_workflow.at(on or _local(c))


def time_limit(c: Container, defn: Definition, on: date | None = None) -> TimeLimit:
    if defn.sla.limit is not None:
        return defn.sla.limit
    policy = workflow_policy(c, on)
    entry = policy.time_limits.get(defn.code)
    if entry is None:
        raise PolicyError(
            f"case_workflow.yaml: field time_limits.{defn.code}: missing for service {defn.name}"
        )
    return TimeLimit(
        entry.amount, LimitUnit(entry.unit), entry.warning_ratio or policy.warning_ratio
    )


def check_definitions(policies: Policies) -> None:
    """At start-up: every name is in the vocabulary (backend.vocabulary_check), every
    registered definition's time limit and the calendar resolve, and every service that needs
    its domain's hooks has them."""
    for module in SERVICE_DOMAINS:
        importlib.import_module(module)
    from backend.vocabulary_check import check_vocabulary

    check_vocabulary(policies, {code: hooks.owner for code, hooks in HOOKS.items()})
    _calendar_for(policies)
    for defn in definitions().all():
        needs_hooks = bool(defn.derived) or any(
            "service_ready" in t.guards for t in defn.transitions
        )
        if needs_hooks and defn.code not in HOOKS:
            raise RuntimeError(f"service {defn.code} has no registered hooks (SERVICE_DOMAINS)")
        if defn.sla.limit is not None:
            continue
        for version in policies.case_workflow.versions:
            if defn.code not in version.time_limits:
                raise PolicyError(
                    f"case_workflow.yaml: version {version.effective_from}: field "
                    f"time_limits.{defn.code}: missing for service {defn.name}"
                )


def _reasons(c: Container, kind: str) -> Mapping[str, str]:
    return workflow_policy(c).reasons[kind]  # type: ignore[index]


def _check_reason(c: Container, kind: str, code: str | None) -> str:
    reasons = _reasons(c, kind)
    if not code or code not in reasons:
        raise UnknownReason(allowed=dict(reasons))
    return reasons[code]


# -- actors and visibility ----------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The principal plus what the case rules need to know about them."""

    principal: Principal | None  # None: the system (sweeper, automatic decisions)
    person_id: int | None = None

    @property
    def id(self) -> int | None:
        return self.principal.account_id if self.principal else None

    @property
    def role(self) -> str:
        return self.principal.role.value if self.principal else "system"


SYSTEM_ACTOR = Actor(None)


async def actor_for(principal: Principal) -> Actor:
    person_id = None
    if principal.role is Role.CITIZEN:
        person_id = await Account.filter(id=principal.account_id).values_list(
            "person_id", flat=True
        )
        person_id = person_id[0] if person_id else None
    return Actor(principal, person_id)


def can_see(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return True
    if p.role is Role.CITIZEN:
        return (actor.person_id is not None and case.applicant_id == actor.person_id) or (
            case.submitted_by_id == p.account_id  # type: ignore[attr-defined]
        )
    if p.role is Role.STATION_STAFF:
        return p.station_id is not None and case.station_id == p.station_id  # type: ignore[attr-defined]
    if p.role is Role.REVIEWER:
        return case.category in p.categories or FRONT_DESK_CATEGORY in p.categories
    return p.role in (Role.SUPERVISOR, Role.ADMIN)


async def load_case(actor: Actor, case_id: int) -> Case:
    """The case if the actor may see it; someone else's case is "not found", not "forbidden"."""
    case = await Case.get_or_none(id=case_id)
    if case is None or not can_see(actor, case):
        raise CaseNotFound()
    return case


def _acts_for_applicant(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return True
    if p.role is Role.CITIZEN:
        return actor.person_id is not None and actor.person_id == case.applicant_id
    if p.role is Role.STATION_STAFF:
        return case.channel != Channel.APP and case.station_id == p.station_id  # type: ignore[attr-defined]
    return False


def _is_front_desk(actor: Actor, case: Case) -> bool:
    p = actor.principal
    if p is None:
        return False
    if p.role is Role.STATION_STAFF:
        return case.station_id is not None and case.station_id == p.station_id  # type: ignore[attr-defined]
    if p.role is Role.REVIEWER:
        return FRONT_DESK_CATEGORY in p.categories
    return False


# -- forms, materials, secrets ------------------------------------------------------------------


def _split_form(defn: Definition, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain, secret = {}, {}
    for name, value in form.items():
        field = defn.field(name)
        (secret if field is not None and field.sensitive else plain)[name] = value
    return plain, secret


def _seal(c: Container, secret: Mapping[str, Any]) -> str:
    return c.pii.encrypt(json.dumps(dict(secret), ensure_ascii=False), FORM_FIELD) if secret else ""


def full_form(c: Container, case: Case) -> dict[str, Any]:
    secret = json.loads(c.pii.decrypt(case.form_secret, FORM_FIELD)) if case.form_secret else {}
    return {**(case.form or {}), **secret}


_MASKS: dict[FieldType | None, Callable[[str], str]] = {
    FieldType.PHONE: mask_phone,
    FieldType.ADDRESS: mask_address,
    FieldType.BANK_ACCOUNT: mask_bank_account,
}


def masked_form(c: Container, defn: Definition, case: Case) -> dict[str, Any]:
    # Derived facts ("$...", see Definition.derived) are the engine's, not the citizen's.
    out: dict[str, Any] = {k: v for k, v in (case.form or {}).items() if not k.startswith("$")}
    if case.form_secret:
        for name, value in json.loads(c.pii.decrypt(case.form_secret, FORM_FIELD)).items():
            field = defn.field(name)
            out[name] = _MASKS.get(field.type if field else None, mask_bank_account)(value)
    return out


def _clean(defn: Definition, form: Mapping[str, Any], channel: str) -> dict[str, Any]:
    try:
        return clean_form(defn, form, channel)
    except FormProblem as exc:
        raise InvalidInput(
            "填写的内容不符合要求", code="FORM_INVALID", fields=exc.problems
        ) from exc


def _check_key_materials(defn: Definition, facts: Mapping[str, Any], provided: set[str]) -> None:
    """At submission: every key material is there; without 容缺 (the definition has no
    tolerance) every required material is."""
    key, other = missing_materials(defn, facts, provided)
    missing = key + ([] if defn.tolerance is not None else other)
    if missing:
        raise InvalidInput(
            f"缺少材料：{'、'.join(m.name for m in missing)}，请上传后再提交",
            code="KEY_MATERIALS_MISSING",
            materials=[{"key": m.key, "name": m.name} for m in missing],
        )


async def _provided_keys(case: Case) -> set[str]:
    rows = await CaseMaterial.filter(
        case_id=case.id, status__in=[MaterialStatus.PROVIDED, MaterialStatus.RECEIVED]
    ).values_list("key", flat=True)
    return set(rows)


async def _store_materials(
    c: Container, case: Case, defn: Definition, refs: dict[str, str]
) -> None:
    """Record materials; one that was missing (容缺) becomes received."""
    await case_materials.attach(case, refs)
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


# -- the transition core ------------------------------------------------------------------------


def _refusal(exc: TransitionRefused) -> Exception:
    details = {k: v for k, v in exc.details.items() if k != "forbidden"}
    if exc.forbidden:
        return Forbidden(exc.message, code=exc.code, **details)
    if exc.kind == "unknown":
        return InvalidInput(exc.message, code=exc.code)
    return Conflict(exc.message, code=exc.code, **details)


async def _facts(
    c: Container, case: Case, actor: Actor, defn: Definition, *, task: CaseTask | None = None
) -> Facts:
    provided = await _provided_keys(case)
    missing_key, missing_other = missing_materials(
        defn, facts_for(full_form(c, case), case.channel), provided
    )
    if defn.tolerance is None:  # without 容缺 every missing material blocks acceptance
        missing_key = missing_key + missing_other
    prior = await CaseTask.filter(
        case_id=case.id, status=TaskStatus.DONE, outcome="approved"
    ).values_list("completed_by_id", flat=True)
    started = await CaseTask.filter(
        case_id=case.id, status__in=[TaskStatus.CLAIMED, TaskStatus.DONE]
    ).exists()
    return Facts(
        state=CaseState(case.state),
        channel=case.channel,
        actor_id=actor.id,
        actor_role=actor.role,
        actor_acts_for_applicant=_acts_for_applicant(actor, case),
        actor_is_front_desk=_is_front_desk(actor, case),
        agent_account_id=(
            case.submitted_by_id  # type: ignore[attr-defined]
            if case.channel != Channel.APP
            else None
        ),
        applicant_account_id=case.applicant_account_id,
        task_holder_id=task.holder_id if task else None,
        prior_reviewer_ids=frozenset(i for i in prior if i is not None),
        review_level=case.review_level,
        required_levels=case.required_levels,
        missing_key=len(missing_key),
        open_gaps=case.open_gaps if case.state != CaseState.SUBMITTED else len(missing_other),
        tolerance_due_at=case.tolerance_due_at,
        now=c.clock.now(),
        review_started=started,
        blockers=await _blockers(c, case, defn),
    )


def _finish_fields(case: Case, target: CaseState, now: datetime) -> dict[str, Any]:
    """Statistics columns written when a case reaches a final state."""
    if target not in FINAL_STATES:
        return {}
    out: dict[str, Any] = {"completed_at": now, "outcome": target.value}
    if case.submitted_at is not None:
        out["handling_seconds"] = int((now - case.submitted_at).total_seconds())
    if case.due_at is not None and case.sla_started_at is not None:
        out["limit_seconds"] = int((case.due_at - case.sla_started_at).total_seconds())
        if target is not CaseState.WITHDRAWN:
            out["on_time"] = now <= case.due_at
    return out


async def _apply(
    c: Container,
    case: Case,
    transition: Transition,
    actor: Actor,
    *,
    changes: Mapping[str, Any] | None = None,
    reason_code: str = "",
    reason_text: str = "",
    data: Mapping[str, Any] | None = None,
    note: str = "",
) -> Case:
    """Move ``case`` along ``transition`` with a compare-and-set; record everything.

    Call inside a transaction. Raises :class:`StaleCase` (409) when the case moved meanwhile.
    The applicant's row is locked first (docs/lock-order.md: person, then case, then task), so
    a hook that writes to the person, or a submission for the same person, cannot deadlock
    with the transition.
    """
    await lock_person(case.applicant_id)  # type: ignore[attr-defined]
    now = c.clock.now()
    source = CaseState(case.state)
    target = transition.target
    updates: dict[str, Any] = {
        "state": target.value,
        "version": case.version + 1,
        "updated_at": now,
        **_finish_fields(case, target, now),
        **(changes or {}),
    }
    moved = await Case.filter(id=case.id, state=case.state, version=case.version).update(**updates)
    if moved != 1:
        raise StaleCase(case_id=case.id)
    for name, value in updates.items():
        setattr(case, name, value)
    if target in FINAL_STATES:
        await CaseTask.filter(
            case_id=case.id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
        ).update(status=TaskStatus.CANCELLED, completed_at=now)
    text = transition.label or STATE_LABELS[target]
    if reason_text:
        text = f"{text}：{reason_text}"
    if note:
        text = f"{text}（{note}）"
    await _record(
        c,
        case,
        transition.name,
        actor,
        source=source,
        target=target,
        reason_code=reason_code,
        reason_text=reason_text,
        data={"version": case.version, **(data or {})},
        citizen_text=text[:300],
    )
    hooks = HOOKS.get(case.service_code)
    if hooks is not None and hooks.after_transition is not None:
        await hooks.after_transition(c, case, transition.name, actor)
    return case


async def _record(
    c: Container,
    case: Case,
    action: str,
    actor: Actor,
    *,
    source: str,
    target: str,
    reason_code: str = "",
    reason_text: str = "",
    data: Mapping[str, Any] | None = None,
    citizen_text: str | None = None,
) -> None:
    now = c.clock.now()
    await CaseEvent.create(
        case=case,
        action=action,
        from_state=source,
        to_state=target,
        actor_id=actor.id,
        actor_role=actor.role,
        reason_code=reason_code,
        reason_text=reason_text[:500],
        data=dict(data or {}),
        citizen_text=citizen_text,
        at=now,
    )
    await audit.record(
        c,
        actor=actor.principal,
        action=f"case.{action}",
        subject_type="case",
        subject_id=case.id,
        reason=f"{reason_code} {reason_text}".strip(),
        data={"from": source, "to": target, **(data or {})},
    )
    if citizen_text:
        defn_name = definition_of(case).name
        await InboxMessage.create(
            person_id=case.applicant_id,  # type: ignore[attr-defined]
            case=case,
            title=f"{defn_name}：{STATE_LABELS.get(target, target)}"[:60],
            body=f"办件 {case.number}：{citizen_text}"[:300],
            created_at=now,
        )


async def _fire(
    c: Container,
    case: Case,
    defn: Definition,
    name: str,
    actor: Actor,
    *,
    task: CaseTask | None = None,
    facts: Facts | None = None,
    **kwargs: Any,
) -> Case:
    try:
        transition = plan(defn, name, facts or await _facts(c, case, actor, defn, task=task))
    except TransitionRefused as exc:
        raise _refusal(exc) from exc
    return await _apply(c, case, transition, actor, **kwargs)


def _expect_version(case: Case, version: int | None) -> None:
    if version is not None and version != case.version:
        raise StaleCase(case_id=case.id, current_version=case.version)


# -- time limits ------------------------------------------------------------------------------


def _start_clock(c: Container, defn: Definition, now: datetime) -> dict[str, Any]:
    limit = time_limit(c, defn, _local(c, now))
    due = due_at(limit, now, calendar(c))
    return {
        "sla_started_at": now,
        "submitted_at": now,
        "due_at": due,
        "warning_at": warning_at(limit, now, due),
        "sla_flag": SlaFlag.NORMAL,
    }


def _pause_clock(rule: ClockRule, now: datetime) -> dict[str, Any]:
    return {} if rule is ClockRule.CONTINUE else {"sla_paused_at": now}


def _resume_clock(c: Container, defn: Definition, case: Case, rule: ClockRule) -> dict[str, Any]:
    now = c.clock.now()
    if case.sla_paused_at is None or case.due_at is None or rule is ClockRule.CONTINUE:
        return {}
    limit = time_limit(c, defn, _local(c, case.sla_started_at))
    due = resumed_due(
        limit, rule, due=case.due_at, paused_at=case.sla_paused_at, resumed_at=now,
        calendar=calendar(c),
    )  # fmt: skip
    start = now if rule is ClockRule.RESTART else case.sla_started_at or now
    warn = warning_at(limit, start, due)
    flag = SlaFlag.OVERDUE if now >= due else SlaFlag.WARNING if now >= warn else SlaFlag.NORMAL
    return {
        "sla_paused_at": None,
        "due_at": due,
        "warning_at": warn,
        "sla_flag": flag,
        "sla_started_at": start,
    }


# -- submission -------------------------------------------------------------------------------


def _delivery(
    c: Container, defn: Definition, method: str | None, address: str | None
) -> dict[str, Any]:
    allowed = [d.value for d in defn.issuance.deliveries]
    method = method or allowed[0]
    if method not in allowed:
        raise InvalidInput("该事项不支持此领取方式", code="DELIVERY_INVALID", allowed=allowed)
    if method == "mail":
        if not address or not 5 <= len(address.strip()) <= 120:
            raise InvalidInput("邮寄送达须填写有效的收件地址", code="DELIVERY_ADDRESS_REQUIRED")
        return {
            "delivery_method": method,
            "delivery_address_enc": c.pii.encrypt(address.strip(), ADDRESS_FIELD),
        }
    return {"delivery_method": method, "delivery_address_enc": ""}


def _new_number(c: Container) -> str:
    return f"YB{_local(c):%Y%m%d}{secrets.randbelow(10**10):010d}"


@dataclass(frozen=True)
class NewCase:
    service_code: str
    form: Mapping[str, Any]
    materials: list[Mapping[str, str]]
    delivery_method: str | None = None
    delivery_address: str | None = None
    origin: str = ""  # the domain creating the case, for services with an owner (ServiceHooks)
    # Facts the owning domain derived from the form and its policy (Definition.derived)
    derived: Mapping[str, Any] = field(default_factory=dict)
    # Material keys whose references the owning domain vouches for (a claim's invoices);
    # every other reference must name an upload of the applicant (backend.cases.materials)
    domain_refs: frozenset[str] = frozenset()


async def _create(
    c: Container,
    actor: Actor,
    req: NewCase,
    *,
    channel: Channel,
    applicant: Person,
    station: Station | None,
    agent_name: str = "",
    initial: CaseState,
) -> tuple[Case, Definition]:
    try:
        defn = definitions().latest(req.service_code)
    except wf_registry.UnknownDefinition:
        raise UnknownService(service_code=req.service_code) from None
    if channel not in defn.channels:
        raise InvalidInput("该事项不能通过此渠道办理", code="CHANNEL_NOT_ALLOWED")
    hooks = HOOKS.get(defn.code)
    if hooks is not None and hooks.owner is not None and req.origin != hooks.owner:
        raise InvalidInput("该事项须通过专门的申请入口提交", code="SERVICE_HAS_OWN_ENTRY")
    form = _clean(defn, req.form, channel.value)
    if req.derived or defn.derived:
        hooks = HOOKS.get(defn.code)
        if hooks is None or hooks.owner is None or set(req.derived) != set(defn.derived):
            raise RuntimeError(f"{defn.code}: derived facts {sorted(req.derived)} do not match")
        form |= dict(req.derived)
    if req.domain_refs and (hooks is None or hooks.owner is None):
        raise RuntimeError(f"{defn.code}: only the owning domain vouches for its references")
    refs = await case_materials.resolve(
        defn, req.materials, applicant_id=applicant.id, domain_refs=req.domain_refs
    )
    _check_key_materials(defn, facts_for(form, channel.value), set(refs))
    plain, secret = _split_form(defn, form)
    now = c.clock.now()
    applicant_account = await Account.filter(person_id=applicant.id).values_list("id", flat=True)
    amount = Decimal(form[defn.amount_field]) if defn.amount_field in form else None
    for _ in range(3):
        try:
            async with in_transaction():
                case = await Case.create(
                    number=_new_number(c),
                    service_code=defn.code,
                    definition_version=defn.version,
                    category=defn.category,
                    state=initial.value,
                    version=1,
                    channel=channel.value,
                    applicant=applicant,
                    applicant_account_id=applicant_account[0] if applicant_account else None,
                    submitted_by_id=actor.id,
                    agent_name=agent_name,
                    station=station,
                    form=plain,
                    form_secret=_seal(c, secret),
                    amount=amount,
                    required_levels=required_review_levels(defn, facts_for(form, channel.value)),
                    created_at=now,
                    updated_at=now,
                    **(_start_clock(c, defn, now) if initial is CaseState.SUBMITTED else {}),
                    **_delivery(c, defn, req.delivery_method, req.delivery_address),
                )
                await _store_materials(c, case, defn, refs)
                await _record(
                    c, case, "submit", actor, source="", target=case.state,
                    data={"channel": channel.value, "definition_version": defn.version},
                    citizen_text=(
                        "申请已提交，等待受理" if initial is CaseState.SUBMITTED
                        else "服务站已为您代办申请，请在“我的授权”中确认"
                    ),
                )  # fmt: skip
                if initial is CaseState.SUBMITTED:
                    await _after_submitted(c, case, defn)
            return case, defn
        except IntegrityError:  # a case number collision: draw another
            continue
    raise Conflict("系统繁忙，请稍后重试", code="CASE_NUMBER_COLLISION")


async def _after_submitted(c: Container, case: Case, defn: Definition) -> None:
    """即受即办: decide on the spot when the definition's rule holds and nothing is missing."""
    form = full_form(c, case)
    provided = await _provided_keys(case)
    key, other = missing_materials(defn, facts_for(form, case.channel), provided)
    if not is_instant(defn, facts_for(form, case.channel), len(key) + len(other)):
        return
    now = c.clock.now()
    await _fire(c, case, defn, "instant_accept", SYSTEM_ACTOR, changes={"accepted_at": now})
    await _fire(c, case, defn, "instant_approve", SYSTEM_ACTOR)
    await _issue(c, case, defn)


async def submit(c: Container, principal: Principal, req: NewCase) -> Case:
    """A citizen applies from the app (掌办) for themselves."""
    actor = await actor_for(principal)
    if actor.person_id is None:
        raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
    person = await Person.get(id=actor.person_id)
    case, _ = await _create(
        c, actor, req, channel=Channel.APP, applicant=person, station=None,
        initial=CaseState.SUBMITTED,
    )  # fmt: skip
    return case


@dataclass(frozen=True)
class AssistedCase:
    request: NewCase
    applicant_id_number: str
    channel: Channel = Channel.STATION
    agent_name: str = ""
    authorisation_method: AuthorisationMethod | None = None
    form_ref: str = ""
    form_number: str = ""


@dataclass(frozen=True)
class Assistance:
    """Who files for whom, and on what authority (帮办代办), apart from the request itself."""

    applicant_id_number: str
    channel: Channel = Channel.STATION
    agent_name: str = ""
    authorisation_method: AuthorisationMethod | None = None
    form_ref: str = ""
    form_number: str = ""

    def case(self, request: NewCase) -> AssistedCase:
        return AssistedCase(request=request, **vars(self))


async def applicant_person_id(principal: Principal) -> int:
    """The person a citizen acts as: their real-name binding."""
    actor = await actor_for(principal)
    if actor.person_id is None:
        raise Forbidden("请先完成实名认证", code="BINDING_REQUIRED")
    return actor.person_id


async def submit_owned(
    c: Container,
    principal: Principal,
    request: NewCase,
    guard: Callable[[int], Awaitable[None]],
    assistance: Assistance | None = None,
) -> Case:
    """Submit a case of a service whose domain keeps one record per person (a filing, a
    qualification): ``guard(person_id)`` — no active record, no open application — runs under
    the applicant's row lock, so two concurrent applications cannot both pass it."""
    from backend.identity.persons import find_person

    if assistance is None:
        person_id = await applicant_person_id(principal)
    else:
        await _assisting_station(principal, request.service_code)  # refuse before locking
        person = await find_person(c, assistance.applicant_id_number.strip().upper())
        if person is None:
            raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
        person_id = person.id
    async with in_transaction():
        await lock_person(person_id)
        await guard(person_id)
        if assistance is None:
            return await submit(c, principal, request)
        return await submit_assisted(c, principal, assistance.case(request))


async def _assisting_station(principal: Principal, service_code: str) -> Station:
    """The clerk's station, when the service is among the items delegated to it."""
    if principal.station_id is None:
        raise Forbidden("账号未关联服务站", code="NO_STATION")
    station = await Station.get(id=principal.station_id)
    try:
        defn = definitions().latest(service_code)
    except wf_registry.UnknownDefinition:
        raise UnknownService(service_code=service_code) from None
    if defn.delegation_item not in (station.delegated_items or []):
        raise ItemNotDelegated(item=defn.delegation_item)
    return station


async def submit_assisted(c: Container, principal: Principal, req: AssistedCase) -> Case:
    """Station staff submit for a citizen (帮办代办) or record a window application.

    A station request needs the applicant's authorisation: a signed form recorded now, or a
    confirmation the citizen gives in the app (the case waits until then). At a window the
    applicant is present in person.
    """
    from backend.identity.persons import find_person

    actor = await actor_for(principal)
    station = await _assisting_station(principal, req.request.service_code)
    applicant = await find_person(c, req.applicant_id_number.strip().upper())
    if applicant is None:
        raise NotFound("未找到该参保人", code="PERSON_NOT_FOUND")
    initial = CaseState.SUBMITTED
    if req.channel is Channel.STATION:
        if req.authorisation_method is None:
            raise InvalidInput("帮办代办须取得申请人授权", code="AUTHORISATION_REQUIRED")
        if req.authorisation_method is AuthorisationMethod.SIGNED_FORM and not (
            req.form_ref and req.form_number
        ):
            raise InvalidInput(
                "请上传签字的授权委托书并填写编号", code="AUTHORISATION_FORM_REQUIRED"
            )
        if req.authorisation_method is AuthorisationMethod.APP:
            initial = CaseState.AWAITING_AUTHORISATION
    case, _ = await _create(
        c, actor, req.request, channel=req.channel, applicant=applicant, station=station,
        agent_name=req.agent_name, initial=initial,
    )  # fmt: skip
    if req.channel is Channel.STATION:
        granted = req.authorisation_method is AuthorisationMethod.SIGNED_FORM
        now = c.clock.now()
        await CaseAuthorisation.create(
            case=case,
            method=req.authorisation_method,
            status=AuthorisationStatus.GRANTED if granted else AuthorisationStatus.PENDING,
            form_ref=req.form_ref,
            form_number=req.form_number,
            recorded_by_id=actor.id if granted else None,
            decided_by_id=actor.id if granted else None,
            decided_at=now if granted else None,
            created_at=now,
        )
        await _attach_form(case, req.form_ref)
    return await Case.get(id=case.id)


async def _attach_form(case: Case, form_ref: str) -> None:
    from backend.cases.materials import attach_form  # materials imports this module

    await attach_form(case, form_ref)


async def decide_authorisation(
    c: Container, principal: Principal, case_id: int, *, version: int, confirm: bool
) -> Case:
    """The applicant confirms (or declines) an assisted request in the app."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    defn = definition_of(case)
    now = c.clock.now()
    async with in_transaction():
        decided = await CaseAuthorisation.filter(
            case_id=case.id, status=AuthorisationStatus.PENDING
        ).update(
            status=AuthorisationStatus.GRANTED if confirm else AuthorisationStatus.DECLINED,
            decided_by_id=actor.id,
            decided_at=now,
        )
        if confirm:
            await _fire(c, case, defn, "authorise", actor, changes=_start_clock(c, defn, now))
            if not decided:
                raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
            await _after_submitted(c, case, defn)
        else:
            await _fire(c, case, defn, "decline_authorisation", actor)
            if not decided:
                raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
    return case


async def record_signed_form(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    form_ref: str,
    form_number: str,
) -> Case:
    """The clerk uploads the applicant's signed authorisation form for a waiting request."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    defn = definition_of(case)
    now = c.clock.now()
    async with in_transaction():
        await _fire(c, case, defn, "authorise", actor, changes=_start_clock(c, defn, now),
                    note=f"授权委托书 {form_number}")  # fmt: skip
        updated = await CaseAuthorisation.filter(
            case_id=case.id, status=AuthorisationStatus.PENDING
        ).update(
            status=AuthorisationStatus.GRANTED,
            method=AuthorisationMethod.SIGNED_FORM,
            form_ref=form_ref,
            form_number=form_number,
            recorded_by_id=actor.id,
            decided_by_id=actor.id,
            decided_at=now,
        )
        if not updated:
            raise Conflict("没有待确认的授权", code="NO_PENDING_AUTHORISATION")
        await _attach_form(case, form_ref)
        await _after_submitted(c, case, defn)
    return case


# -- front-desk acceptance (综合受理) ---------------------------------------------------------


async def accept(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    outcome: str,
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """Outcomes: ``accept`` (容缺 when only non-key materials are missing and the service allows
    it), ``correct`` (退回补正), ``refuse`` (不予受理, with a coded reason)."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    defn = definition_of(case)
    now = c.clock.now()
    async with in_transaction():
        if outcome == "accept":
            facts = await _facts(c, case, actor, defn)
            changes: dict[str, Any] = {"accepted_at": now}
            note = ""
            if facts.open_gaps and facts.missing_key == 0 and defn.tolerance is not None:
                days = (
                    defn.tolerance.deadline_working_days
                    or workflow_policy(c).tolerance_working_days
                )
                deadline = calendar(c).working_deadline(now, days)
                changes |= {"open_gaps": facts.open_gaps, "tolerance_due_at": deadline}
                provided = await _provided_keys(case)
                _, other = missing_materials(
                    defn, facts_for(full_form(c, case), case.channel), provided
                )
                for m in other:
                    await CaseMaterial.create(
                        case=case, key=m.key, name=m.name, is_key=False,
                        status=MaterialStatus.MISSING, updated_at=now,
                    )  # fmt: skip
                names = "、".join(m.name for m in other)
                due_day = _local(c, deadline - timedelta(microseconds=1))
                note = f"容缺受理，请于{due_day:%Y年%m月%d日}前补交：{names}"
            await _fire(c, case, defn, "accept", actor, facts=facts, changes=changes, note=note,
                        data={"tolerance": bool(note)})  # fmt: skip
            await _route(c, case, defn)
        elif outcome == "correct":
            text = _check_reason(c, "correction", reason_code)
            await _fire(c, case, defn, "return_for_correction", actor,
                        changes=_pause_clock(defn.sla.on_correction, now),
                        reason_code=reason_code or "", reason_text=reason_text or text)  # fmt: skip
        elif outcome == "refuse":
            text = _check_reason(c, "refuse", reason_code)
            await _fire(c, case, defn, "refuse", actor,
                        changes={"reason_code": reason_code, "reason_text": reason_text or text},
                        reason_code=reason_code or "", reason_text=reason_text or text)  # fmt: skip
        else:
            raise InvalidInput("受理结果只能是 accept、correct 或 refuse", code="OUTCOME_INVALID")
    return case


async def _route(c: Container, case: Case, defn: Definition) -> None:
    """Send an accepted case to its category queue (分类审核), level 1."""
    await _fire(c, case, defn, "route", SYSTEM_ACTOR, changes={"review_level": 1},
                data={"category": defn.category})  # fmt: skip
    await _open_task(c, case, level=1)


async def _open_task(
    c: Container, case: Case, *, level: int, holder_id: int | None = None
) -> CaseTask:
    now = c.clock.now()
    return await CaseTask.create(
        case=case,
        level=level,
        category=case.category,
        status=TaskStatus.CLAIMED if holder_id else TaskStatus.OPEN,
        service_code=case.service_code,
        station_id=case.station_id,  # type: ignore[attr-defined]
        due_at=case.due_at,
        escalated=case.sla_flag == SlaFlag.OVERDUE,
        holder_id=holder_id,
        claimed_at=now if holder_id else None,
        created_at=now,
    )


async def resubmit(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    form: Mapping[str, Any] | None,
    materials: list[Mapping[str, str]],
) -> Case:
    """The applicant answers a correction request (补正) and the case returns to acceptance."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    defn = definition_of(case)
    refs = await case_materials.resolve(
        defn,
        materials,
        applicant_id=case.applicant_id,
        case_id=case.id,  # type: ignore[attr-defined]
    )
    changes = _resume_clock(c, defn, case, defn.sla.on_correction)
    if form is not None and defn.derived:  # its derived facts were computed from the old form
        raise InvalidInput("此事项补正时不能修改填写内容，如需修改请撤回后重新申请",
                           code="FORM_CHANGE_NOT_ALLOWED")  # fmt: skip
    if form is not None:
        clean = _clean(defn, form, case.channel)
        plain, secret = _split_form(defn, clean)
        changes |= {
            "form": plain,
            "form_secret": _seal(c, secret),
            "required_levels": required_review_levels(defn, facts_for(clean, case.channel)),
        }
        if defn.amount_field:
            changes["amount"] = Decimal(clean[defn.amount_field])
    async with in_transaction():
        await _fire(c, case, defn, "resubmit", actor, changes=changes)
        await _store_materials(c, case, defn, refs)
        await _after_submitted(c, case, defn)
    return case


async def supply_materials(
    c: Container,
    principal: Principal,
    case_id: int,
    *,
    version: int,
    materials: list[Mapping[str, str]],
) -> Case:
    """Materials after acceptance: the answer to a reviewer's 补充材料 request, or the 容缺
    materials. When the last 容缺 material arrives for an approved case, it is issued."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    if not _acts_for_applicant(actor, case):
        raise Forbidden("只有申请人本人或受理服务站可以补交材料", code="NOT_YOUR_CASE")
    defn = definition_of(case)
    refs = await case_materials.resolve(
        defn,
        materials,
        applicant_id=case.applicant_id,
        case_id=case.id,  # type: ignore[attr-defined]
    )
    if not refs:
        raise InvalidInput("请至少提交一份材料", code="MATERIALS_REQUIRED")
    now = c.clock.now()
    async with in_transaction():
        gap_keys = set(
            await CaseMaterial.filter(case_id=case.id, status=MaterialStatus.MISSING).values_list(
                "key", flat=True
            )
        )
        closing = gap_keys & set(refs)
        if case.state == CaseState.SUPPLEMENT:
            last = (
                await CaseTask.filter(case_id=case.id, outcome="returned").order_by("-id").first()
            )
            changes = _resume_clock(c, defn, case, defn.sla.on_supplement)
            changes["open_gaps"] = case.open_gaps - len(closing)
            await _fire(c, case, defn, "supplement", actor, changes=changes)
            await _open_task(
                c, case, level=case.review_level, holder_id=last.completed_by_id if last else None
            )
        elif closing and case.state not in FINAL_STATES:
            moved = await Case.filter(id=case.id, version=case.version, state=case.state).update(
                open_gaps=case.open_gaps - len(closing), version=case.version + 1, updated_at=now
            )
            if moved != 1:
                raise StaleCase(case_id=case.id)
            case.open_gaps -= len(closing)
            case.version += 1
            names = "、".join(m.name for m in defn.materials if m.key in closing)
            await _record(c, case, "materials_received", actor, source=case.state,
                          target=case.state, data={"materials": sorted(closing)},
                          citizen_text=f"已收到补交材料：{names}")  # fmt: skip
        else:
            raise Conflict("当前不需要补交材料", code="NO_MATERIALS_EXPECTED")
        await _store_materials(c, case, defn, refs)
        if case.state == CaseState.APPROVED and case.open_gaps == 0:
            await _issue(c, case, defn)
    return case


async def withdraw(
    c: Container, principal: Principal, case_id: int, *, version: int, reason: str = ""
) -> Case:
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    _expect_version(case, version)
    defn = definition_of(case)
    async with in_transaction():
        # Cancel the unclaimed task first: a concurrent claim then finds nothing to claim,
        # and a claim that came first makes the guard below refuse.
        await CaseTask.filter(case_id=case.id, status=TaskStatus.OPEN).update(
            status=TaskStatus.CANCELLED, completed_at=c.clock.now()
        )
        await _fire(c, case, defn, "withdraw", actor, reason_text=reason[:200])
    return case


# -- review (分类审核) --------------------------------------------------------------------------


async def _load_task(actor: Actor, task_id: int) -> tuple[CaseTask, Case]:
    task = await CaseTask.get_or_none(id=task_id)
    p = actor.principal
    if task is None or p is None:
        raise TaskNotFound()
    if p.role is Role.REVIEWER and task.category not in p.categories:
        raise TaskNotFound()
    if p.role not in (Role.REVIEWER, Role.SUPERVISOR):
        raise TaskNotFound()
    case = await Case.get(id=task.case_id)  # type: ignore[attr-defined]
    return task, case


async def claim(c: Container, principal: Principal, task_id: int) -> CaseTask:
    """One holder at a time: a conditional UPDATE on an open, unheld task. The loser gets 409."""
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    now = c.clock.now()
    async with in_transaction():
        won = await CaseTask.filter(id=task.id, status=TaskStatus.OPEN, holder_id=None).update(
            status=TaskStatus.CLAIMED, holder_id=actor.id, claimed_at=now, version=task.version + 1
        )
        if won != 1:
            raise TaskTaken(task_id=task.id)
        await _record(c, case, "claim", actor, source=case.state, target=case.state,
                      data={"task_id": task.id, "level": task.level})  # fmt: skip
    return await CaseTask.get(id=task.id)


async def release(c: Container, principal: Principal, task_id: int) -> CaseTask:
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    supervisor = principal.role is Role.SUPERVISOR
    async with in_transaction():
        query = CaseTask.filter(id=task.id, status=TaskStatus.CLAIMED, version=task.version)
        if not supervisor:
            query = query.filter(holder_id=actor.id)
        done = await query.update(
            status=TaskStatus.OPEN, holder_id=None, claimed_at=None, version=task.version + 1
        )
        if done != 1:
            raise Conflict("只能释放本人领取的任务", code="TASK_NOT_HELD")
        await _record(c, case, "release", actor, source=case.state, target=case.state,
                      data={"task_id": task.id, "holder_id": task.holder_id})  # fmt: skip
    return await CaseTask.get(id=task.id)


async def reassign(
    c: Container, principal: Principal, task_id: int, *, to_account_id: int
) -> CaseTask:
    """A supervisor hands a task to another reviewer of its category."""
    if principal.role is not Role.SUPERVISOR:
        raise Forbidden("只有科室负责人可以转派任务", code="SUPERVISOR_ONLY")
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    target = await Account.get_or_none(id=to_account_id, role=Role.REVIEWER, is_active=True)
    if target is None or task.category not in (target.categories or []):
        raise InvalidInput("只能转派给该类别的审核人员", code="ASSIGNEE_INVALID")
    now = c.clock.now()
    async with in_transaction():
        done = await CaseTask.filter(
            id=task.id, version=task.version, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]
        ).update(
            status=TaskStatus.CLAIMED, holder_id=target.id, claimed_at=now, version=task.version + 1
        )
        if done != 1:
            raise Conflict("任务已被处理或已变更，请刷新后重试", code="TASK_CHANGED")
        moved = {"task_id": task.id, "from": task.holder_id, "to": target.id}
        await _record(c, case, "reassign", actor, source=case.state, target=case.state, data=moved)
    return await CaseTask.get(id=task.id)


DECISIONS = ("approve", "reject", "return")


async def decide(
    c: Container,
    principal: Principal,
    task_id: int,
    *,
    case_version: int,
    decision: str,
    reason_code: str | None = None,
    reason_text: str = "",
) -> Case:
    """approve / reject (coded reason + text) / return for supplement, by the task's holder."""
    if decision not in DECISIONS:
        raise InvalidInput("审核结论只能是 approve、reject 或 return", code="DECISION_INVALID")
    actor = await actor_for(principal)
    task, case = await _load_task(actor, task_id)
    if task.status not in (TaskStatus.CLAIMED, TaskStatus.OPEN):
        raise Conflict("该任务已办结", code="TASK_CLOSED")
    _expect_version(case, case_version)
    defn = definition_of(case)
    now = c.clock.now()
    async with in_transaction():
        facts = await _facts(c, case, actor, defn, task=task)
        if decision == "approve":
            name = "approve_level" if case.review_level < case.required_levels else "approve"
            changes = {"review_level": case.review_level + 1} if name == "approve_level" else {}
            outcome, kwargs = "approved", {"reason_text": reason_text}
        elif decision == "reject":
            text = _check_reason(c, "reject", reason_code)
            name, outcome = "reject", "rejected"
            changes = {"reason_code": reason_code, "reason_text": reason_text or text}
            kwargs = {"reason_code": reason_code or "", "reason_text": reason_text or text}
        else:
            text = _check_reason(c, "supplement", reason_code)
            name, outcome = "return_for_supplement", "returned"
            changes = _pause_clock(defn.sla.on_supplement, now)
            kwargs = {"reason_code": reason_code or "", "reason_text": reason_text or text}
        # The holder closes the task first: a final transition cancels what is still open.
        closed = await CaseTask.filter(
            id=task.id, status=TaskStatus.CLAIMED, holder_id=actor.id
        ).update(
            status=TaskStatus.DONE, completed_by_id=actor.id, completed_at=now, outcome=outcome,
            version=task.version + 1,
        )  # fmt: skip
        await _fire(c, case, defn, name, actor, facts=facts, changes=changes,
                    data={"task_id": task.id, "level": task.level}, **kwargs)  # fmt: skip
        if closed != 1:
            raise TaskTaken(task_id=task.id)
        if name == "approve_level":
            await _open_task(c, case, level=case.review_level)
        elif name == "approve" and case.open_gaps == 0:
            await _issue(c, case, defn)
        elif name == "reject":
            await _document(c, case, defn, outcome="rejected")
    return case


# -- issuance (统一出件) and rating ------------------------------------------------------------


def _verification_code() -> str:
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def _document(c: Container, case: Case, defn: Definition, *, outcome: str) -> CaseDocument:
    applicant = await Person.get(id=case.applicant_id)  # type: ignore[attr-defined]
    from backend.infra.crypto import mask_name

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


async def _issue(c: Container, case: Case, defn: Definition) -> None:
    await _fire(c, case, defn, "issue", SYSTEM_ACTOR,
                note=_DELIVERY_NOTE.get(case.delivery_method, ""))  # fmt: skip
    await _document(c, case, defn, outcome="approved")


async def rate(
    c: Container, principal: Principal, case_id: int, *, score: int, comment: str
) -> Case:
    """好差评: 1–5 with a comment, once, by the applicant, after the case is finished."""
    actor = await actor_for(principal)
    case = await load_case(actor, case_id)
    if actor.person_id is None or case.applicant_id != actor.person_id:  # type: ignore[attr-defined]
        raise Forbidden("只有申请人本人可以评价", code="NOT_YOUR_CASE")
    if not 1 <= score <= 5:
        raise InvalidInput("评分应为 1 到 5", code="RATING_INVALID")
    now = c.clock.now()
    async with in_transaction():
        done = await Case.filter(
            id=case.id, rating=None, state__in=[s.value for s in RATABLE_STATES]
        ).update(rating=score, rating_comment=comment[:300], rated_at=now)
        if done != 1:
            if case.rating is not None:
                raise Conflict("该办件已评价过", code="ALREADY_RATED")
            raise Conflict("办结后才能评价", code="NOT_RATABLE")
        await _record(c, case, "rate", actor, source=case.state, target=case.state,
                      data={"score": score})  # fmt: skip
    return await Case.get(id=case.id)


def inbox_of(actor: Actor) -> Q:
    """The caller's messages: their person's, and those addressed to their account."""
    mine = Q(account_id=actor.id)
    return mine | Q(person_id=actor.person_id) if actor.person_id is not None else mine


async def mark_read(c: Container, principal: Principal, message_id: int) -> None:
    actor = await actor_for(principal)
    done = await InboxMessage.filter(inbox_of(actor), id=message_id).update(read_at=c.clock.now())
    if not done:
        raise NotFound("未找到该消息", code="MESSAGE_NOT_FOUND")
