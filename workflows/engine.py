"""The state machine: given a definition, the facts about a case and an actor, which
transition fires and why not. Pure: the service layer loads the facts, calls :func:`plan`, and
applies the result with a compare-and-set on (state, version).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from workflows.definition import (
    CaseState,
    Definition,
    Transition,
)
from workflows.validation import validate_definition


@dataclass(frozen=True)
class Facts:
    """What the guards may know about a case and the actor, loaded by the service layer."""

    state: CaseState
    channel: str
    actor_id: int | None
    actor_role: str
    actor_acts_for_applicant: bool = False  # the applicant, or staff of the case's station
    actor_is_front_desk: bool = False  # staff of the case's station, or a front-desk reviewer
    agent_account_id: int | None = None  # who submitted on the applicant's behalf
    applicant_account_id: int | None = None
    task_holder_id: int | None = None
    prior_reviewer_ids: frozenset[int] = field(default_factory=frozenset)
    review_level: int = 0
    required_levels: int = 1
    missing_key: int = 0
    open_gaps: int = 0
    tolerance_due_at: datetime | None = None
    now: datetime | None = None
    review_started: bool = False
    # Open items of the service's own domain that block a decision (e.g. invoices whose OCR
    # reading a reviewer has not confirmed yet), loaded by the service's readiness hook.
    blockers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guard:
    predicate: Callable[[Facts], bool]
    code: str
    message: str
    forbidden: bool = False  # True: a 403 (who), False: a 409 (when)


GUARDS: dict[str, Guard] = {
    "actor_acts_for_applicant": Guard(
        lambda f: f.actor_acts_for_applicant or f.actor_role == "system",
        "NOT_YOUR_CASE",
        "只有申请人本人或受理服务站可以办理此操作",
        forbidden=True,
    ),
    "front_desk_may_act": Guard(
        lambda f: f.actor_is_front_desk,
        "NOT_FRONT_DESK",
        "您不是此申请的受理窗口：掌上办提交的申请由区医保服务中心综合受理窗口"
        "（综合受理类别的工作人员）受理，服务站代办的申请由该服务站工作人员受理",
        forbidden=True,
    ),
    "key_materials_present": Guard(
        lambda f: f.missing_key == 0,
        "KEY_MATERIALS_MISSING",
        "关键材料缺失，不能受理，请退回补正",
    ),
    "materials_complete": Guard(
        lambda f: f.missing_key == 0 and f.open_gaps == 0,
        "MATERIALS_INCOMPLETE",
        "材料不齐全，不能即时办结",
    ),
    "task_held_by_actor": Guard(
        lambda f: f.actor_id is not None and f.task_holder_id == f.actor_id,
        "TASK_NOT_HELD",
        "请先领取该审核任务",
    ),
    "four_eyes": Guard(
        lambda f: (
            f.actor_id is not None
            and f.actor_id not in f.prior_reviewer_ids
            and f.actor_id != f.agent_account_id
            and f.actor_id != f.applicant_account_id
        ),
        "FOUR_EYES",
        "复审须由代办人和初审人以外的审核人员办理",
        forbidden=True,
    ),
    "more_levels": Guard(
        lambda f: f.review_level < f.required_levels, "NO_MORE_LEVELS", "已是最后一级审核"
    ),
    "final_level": Guard(
        lambda f: f.review_level >= f.required_levels,
        "SECOND_REVIEW_REQUIRED",
        "此申请需要复审",
    ),
    "no_open_gaps": Guard(
        lambda f: f.open_gaps == 0, "MATERIALS_OUTSTANDING", "容缺材料尚未补齐，暂不能出件"
    ),
    "review_not_started": Guard(
        lambda f: not f.review_started,
        "REVIEW_STARTED",
        "审核已开始，不能撤回",
    ),
    "service_ready": Guard(
        lambda f: not f.blockers,
        "SERVICE_NOT_READY",
        "办件尚有未完成的审核事项，暂不能作出决定",
    ),
    "gaps_overdue": Guard(
        lambda f: (
            f.open_gaps > 0
            and f.tolerance_due_at is not None
            and f.now is not None
            and f.now >= f.tolerance_due_at
        ),
        "GAPS_NOT_OVERDUE",
        "容缺材料补交期限未到",
    ),
}
GUARD_NAMES = frozenset(GUARDS)


class TransitionRefused(Exception):
    """Why an action may not fire. ``kind``: ``unknown``, ``state``, ``role`` or ``guard``."""

    def __init__(self, kind: str, code: str, message: str, **details: object) -> None:
        self.kind, self.code, self.message, self.details = kind, code, message, details
        super().__init__(f"{code}: {message}")

    @property
    def forbidden(self) -> bool:
        return self.kind == "role" or bool(self.details.get("forbidden"))


def plan(defn: Definition, name: str, facts: Facts) -> Transition:
    """The transition ``name`` if it may fire now; otherwise :class:`TransitionRefused`.

    Checks in the order a user understands: the action exists, the actor's role may fire it,
    the case is in a state it leaves from, then the guards.
    """
    transition = defn.transition(name)
    if transition is None:
        raise TransitionRefused("unknown", "ACTION_NOT_AVAILABLE", "该事项不支持此操作")
    if not transition.allows_role(facts.actor_role):
        raise TransitionRefused("role", "ROLE_NOT_ALLOWED", "您的角色不能办理此操作")
    if transition.channels is not None and facts.channel not in transition.channels:
        raise TransitionRefused("state", "CHANNEL_NOT_ALLOWED", "此渠道的申请不能办理此操作")
    if facts.state not in transition.sources:
        raise TransitionRefused(
            "state",
            "INVALID_STATE",
            "申请当前状态不能办理此操作",
            state=str(facts.state),
            action=name,
        )
    for guard_name in transition.guards:
        guard = GUARDS[guard_name]
        if not guard.predicate(facts):
            extra = {"open_items": list(facts.blockers)} if guard_name == "service_ready" else {}
            raise TransitionRefused(
                "guard",
                guard.code,
                guard.message,
                guard=guard_name,
                forbidden=guard.forbidden,
                **extra,
            )
    return transition


def available_actions(defn: Definition, facts: Facts) -> list[str]:
    """The actions the actor could fire now (for the UI's buttons)."""
    out = []
    for t in defn.transitions:
        try:
            plan(defn, t.name, facts)
        except TransitionRefused:
            continue
        out.append(t.name)
    return out


def validate(defn: Definition) -> None:
    validate_definition(defn, GUARD_NAMES)
