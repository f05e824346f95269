"""Process definitions: declarative, versioned descriptions of a service's case lifecycle.

A definition says which form fields and materials (key / non-key) a service needs, who may
fire each transition, which guards must hold, when a case is decided on the spot (即受即办),
which review category it routes to, how many review levels it needs, its time-limit rules,
its 容缺 rules and what issuance produces. Cases pin ``(code, version)``: a new version applies
to new cases only. ``workflows.validation`` checks a definition when it is registered,
``workflows.forms`` a submitted form against its definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from workflows.conditions import Condition, evaluate
from workflows.sla import ClockRule, TimeLimit
from workflows.vocabulary import MATERIALS, SYSTEM


class DefinitionError(ValueError):
    """A definition is inconsistent; the message names the definition and the field."""


class CaseState(StrEnum):
    AWAITING_AUTHORISATION = "awaiting_authorisation"  # 待申请人授权（帮办代办）
    SUBMITTED = "submitted"  # 已提交，待受理
    CORRECTION = "correction"  # 补正中
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    ACCEPTED = "accepted"  # 已受理
    IN_REVIEW = "in_review"  # 审核中
    SUPPLEMENT = "supplement"  # 待补充材料
    APPROVED = "approved"  # 审核通过，待出件
    REJECTED = "rejected"  # 不予批准
    ISSUED = "issued"  # 已办结出件
    WITHDRAWN = "withdrawn"  # 已撤回
    CLOSED = "closed"  # 已终止（容缺材料逾期未补）


FINAL_STATES = frozenset(
    {
        CaseState.NOT_ACCEPTED,
        CaseState.REJECTED,
        CaseState.ISSUED,
        CaseState.WITHDRAWN,
        CaseState.CLOSED,
    }
)
# States in which the promised completion time runs (or is paused) and the case is open.
OPEN_STATES = frozenset(CaseState) - FINAL_STATES - {CaseState.AWAITING_AUTHORISATION}
RATABLE_STATES = frozenset({CaseState.ISSUED, CaseState.REJECTED, CaseState.NOT_ACCEPTED})

STATE_LABELS: dict[str, str] = {
    "awaiting_authorisation": "待申请人授权",
    "submitted": "待受理",
    "correction": "待补正",
    "not_accepted": "不予受理",
    "accepted": "已受理",
    "in_review": "审核中",
    "supplement": "待补充材料",
    "approved": "审核通过，待出件",
    "rejected": "不予批准",
    "issued": "已办结",
    "withdrawn": "已撤回",
    "closed": "已终止",
}


class Channel(StrEnum):
    APP = "app"  # 掌上办
    STATION = "station"  # 服务站帮办代办
    WINDOW = "window"  # 窗口


class Delivery(StrEnum):
    APP = "app"  # 电子证照，掌上查看
    STATION = "station"  # 服务站领取
    MAIL = "mail"  # 邮寄


class FieldType(StrEnum):
    TEXT = "text"
    ADDRESS = "address"  # free text, but personal data: encrypted at rest, shown masked
    CHOICE = "choice"
    PHONE = "phone"
    BANK_ACCOUNT = "bank_account"
    MONEY = "money"
    DATE = "date"


SENSITIVE_TYPES = frozenset({FieldType.PHONE, FieldType.BANK_ACCOUNT, FieldType.ADDRESS})


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = True
    when: Condition | None = None  # asked (and required) only when this holds
    choices: tuple[str, ...] = ()
    max_length: int = 200
    max_amount: Decimal | None = None

    @property
    def sensitive(self) -> bool:
        return self.type in SENSITIVE_TYPES


@dataclass(frozen=True)
class Material:
    key: str
    name: str
    is_key: bool  # 关键材料: without it the case cannot be accepted; others may be 容缺
    when: Condition | None = None

    @classmethod
    def of(cls, key: str, *, is_key: bool, when: Condition | None = None) -> Material:
        """The material ``key`` of the vocabulary, under its vocabulary name."""
        return cls(key, MATERIALS[key], is_key=is_key, when=when)


@dataclass(frozen=True)
class ReviewLevel:
    level: int
    when: Condition | None = None  # level 1 has none: every reviewed case gets it


@dataclass(frozen=True)
class Tolerance:
    """容缺受理: accept with missing non-key materials, to be supplied within a deadline."""

    deadline_working_days: int | None = None  # None: from the case-workflow policy file
    on_expiry: str = "close_gaps_expired"  # the system transition fired at the deadline


@dataclass(frozen=True)
class SlaSpec:
    limit: TimeLimit | None = None  # None: from config/policy/case_time_limits.yaml
    on_correction: ClockRule = ClockRule.RESTART
    on_supplement: ClockRule = ClockRule.PAUSE


@dataclass(frozen=True)
class Issuance:
    document_title: str
    deliveries: tuple[Delivery, ...] = (Delivery.APP,)


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[CaseState, ...]
    target: CaseState
    roles: frozenset[str]
    guards: tuple[str, ...] = ()
    label: str = ""  # the citizen-readable timeline title
    channels: frozenset[str] | None = None  # None: any channel

    def allows_role(self, role: str) -> bool:
        return role in self.roles


S = CaseState
FRONT_DESK = frozenset({"station_staff", "reviewer"})
APPLICANT_SIDE = frozenset({"citizen", "station_staff"})

# The standard lifecycle: 前台综合受理 → 后台分类审核 → 统一出件. Definitions may use it as is,
# drop transitions (e.g. no 补正 for a service) or add their own.
STANDARD_TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "authorise",
        (S.AWAITING_AUTHORISATION,),
        S.SUBMITTED,
        frozenset({"citizen", "station_staff"}),
        ("actor_acts_for_applicant",),
        "申请人已授权代办，申请已提交",
    ),
    Transition(
        "decline_authorisation",
        (S.AWAITING_AUTHORISATION,),
        S.WITHDRAWN,
        frozenset({"citizen"}),
        ("actor_acts_for_applicant",),
        "申请人拒绝授权，申请已撤回",
    ),
    Transition(
        "instant_accept",
        (S.SUBMITTED,),
        S.ACCEPTED,
        frozenset({SYSTEM}),
        ("materials_complete",),
        "申请已受理（即受即办）",
    ),
    Transition(
        "instant_approve",
        (S.ACCEPTED,),
        S.APPROVED,
        frozenset({SYSTEM}),
        ("materials_complete",),
        "系统按规则当场办结",
    ),
    Transition(
        "accept",
        (S.SUBMITTED,),
        S.ACCEPTED,
        FRONT_DESK,
        ("front_desk_may_act", "key_materials_present"),
        "申请已受理",
    ),
    Transition(
        "return_for_correction",
        (S.SUBMITTED,),
        S.CORRECTION,
        FRONT_DESK,
        ("front_desk_may_act",),
        "申请需要补正",
    ),
    Transition(
        "refuse",
        (S.SUBMITTED,),
        S.NOT_ACCEPTED,
        FRONT_DESK,
        ("front_desk_may_act",),
        "申请不予受理",
    ),
    Transition(
        "resubmit",
        (S.CORRECTION,),
        S.SUBMITTED,
        APPLICANT_SIDE,
        ("actor_acts_for_applicant",),
        "补正材料已重新提交",
    ),
    Transition("route", (S.ACCEPTED,), S.IN_REVIEW, frozenset({SYSTEM}), (), "已分送后台审核"),
    Transition(
        "approve_level",
        (S.IN_REVIEW,),
        S.IN_REVIEW,
        frozenset({"reviewer"}),
        ("task_held_by_actor", "four_eyes", "more_levels"),
        "初审通过，转复审",
    ),
    Transition(
        "approve",
        (S.IN_REVIEW,),
        S.APPROVED,
        frozenset({"reviewer"}),
        ("task_held_by_actor", "four_eyes", "final_level"),
        "审核通过",
    ),
    Transition(
        "reject",
        (S.IN_REVIEW,),
        S.REJECTED,
        frozenset({"reviewer"}),
        ("task_held_by_actor", "four_eyes"),
        "审核不予批准",
    ),
    Transition(
        "return_for_supplement",
        (S.IN_REVIEW,),
        S.SUPPLEMENT,
        frozenset({"reviewer"}),
        ("task_held_by_actor",),
        "审核退回，请补充材料",
    ),
    Transition(
        "supplement",
        (S.SUPPLEMENT,),
        S.IN_REVIEW,
        APPLICANT_SIDE,
        ("actor_acts_for_applicant",),
        "补充材料已提交，继续审核",
    ),
    Transition(
        "issue", (S.APPROVED,), S.ISSUED, frozenset({SYSTEM}), ("no_open_gaps",), "已办结出件"
    ),
    Transition(
        "withdraw",
        (S.AWAITING_AUTHORISATION, S.SUBMITTED, S.CORRECTION, S.ACCEPTED, S.IN_REVIEW),
        S.WITHDRAWN,
        APPLICANT_SIDE,
        ("actor_acts_for_applicant", "review_not_started"),
        "申请已撤回",
    ),
    Transition(
        "close_gaps_expired",
        (S.ACCEPTED, S.IN_REVIEW, S.SUPPLEMENT, S.APPROVED),
        S.CLOSED,
        frozenset({SYSTEM}),
        ("gaps_overdue",),
        "容缺材料逾期未补齐，办理终止",
    ),
    Transition(
        "reject_gaps_expired",
        (S.ACCEPTED, S.IN_REVIEW, S.SUPPLEMENT, S.APPROVED),
        S.REJECTED,
        frozenset({SYSTEM}),
        ("gaps_overdue",),
        "容缺材料逾期未补齐，不予批准",
    ),
)


@dataclass(frozen=True)
class Definition:
    code: str
    version: int
    name: str
    category: str  # the back-office review queue (分类审核)
    fields: tuple[FormField, ...]
    materials: tuple[Material, ...]
    issuance: Issuance
    item_code: str = ""  # the delegation item (下沉事项) code; defaults to ``code``
    channels: frozenset[Channel] = frozenset(Channel)
    instant: Condition | None = None  # 即受即办 when this holds and nothing is missing
    review_levels: tuple[ReviewLevel, ...] = (ReviewLevel(1),)
    tolerance: Tolerance | None = None
    sla: SlaSpec = SlaSpec()
    amount_field: str | None = None  # a money field: the case amount (review levels, stats)
    transitions: tuple[Transition, ...] = STANDARD_TRANSITIONS
    # Facts the service's domain derives from the form and its policy tables at submission
    # (names start with "$", e.g. "$instant"); conditions may read them. The case layer stores
    # them with the form; a citizen cannot submit them (they are not form fields).
    derived: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return self.code, self.version

    @property
    def delegation_item(self) -> str:
        return self.item_code or self.code

    def transition(self, name: str) -> Transition | None:
        for t in self.transitions:
            if t.name == name:
                return t
        return None

    def field(self, name: str) -> FormField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


# -- evaluation helpers (pure) ----------------------------------------------------------------


def facts_for(form: Mapping[str, Any], channel: str) -> dict[str, Any]:
    return {**form, "$channel": channel}


def required_materials(defn: Definition, facts: Mapping[str, Any]) -> list[Material]:
    return [m for m in defn.materials if evaluate(m.when, facts)]


def missing_materials(
    defn: Definition, facts: Mapping[str, Any], provided: set[str]
) -> tuple[list[Material], list[Material]]:
    """(missing key materials, missing non-key materials)."""
    needed = [m for m in required_materials(defn, facts) if m.key not in provided]
    return [m for m in needed if m.is_key], [m for m in needed if not m.is_key]


def required_review_levels(defn: Definition, facts: Mapping[str, Any]) -> int:
    levels = 0
    for level in sorted(defn.review_levels, key=lambda r: r.level):
        if evaluate(level.when, facts):
            levels = level.level
    return max(levels, 1)


def is_instant(defn: Definition, facts: Mapping[str, Any], missing: int) -> bool:
    return defn.instant is not None and missing == 0 and evaluate(defn.instant, facts)
