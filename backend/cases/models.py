"""Case tables.

- ``Case``: one request, pinned to its definition (code, version); ``state`` + ``version`` are
  changed only by compare-and-set.
- ``CaseTask``: a back-office review task with one holder at a time.
- ``CaseEvent``: the append-only history (who, role, from, to, reason, when); events with a
  ``citizen_text`` are the citizen's timeline.
- ``CaseMaterial`` (with ``CaseUpload``, the uploaded file), ``CaseAuthorisation``,
  ``CaseDocument``, ``InboxMessage``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index, PartialIndex
from tortoise.models import Model

if TYPE_CHECKING:  # the models this one points at (a run-time import would cycle)
    from backend.identity.models import Account, Person
    from backend.stations.models import Station


class SlaFlag(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"


class Case(Model):
    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=24, unique=True)  # shown to citizens: 办件编号
    service_code = fields.CharField(max_length=48)
    definition_version = fields.IntField()
    category = fields.CharField(max_length=32)
    state = fields.CharField(max_length=24)
    version = fields.IntField(default=1)
    channel = fields.CharField(max_length=10)
    applicant: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="cases", on_delete=fields.RESTRICT
    )
    applicant_id: int
    # The applicant's own account when known (four-eyes: they may not review their own case)
    applicant_account_id = fields.BigIntField(null=True)
    # Who submitted: the citizen, or the station clerk for an assisted request (帮办代办)
    submitted_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="submitted_cases", on_delete=fields.RESTRICT
    )
    submitted_by_id: int
    agent_name = fields.CharField(max_length=50, default="")  # 代办人 when not the clerk
    station: fields.ForeignKeyNullableRelation[Station] = fields.ForeignKeyField(
        "models.Station", related_name="cases", null=True, on_delete=fields.RESTRICT
    )
    station_id: int | None
    form: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # non-sensitive fields
    form_secret = fields.TextField(default="")  # sensitive fields, encrypted JSON
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    delivery_method = fields.CharField(max_length=10)
    delivery_address_enc = fields.TextField(default="")
    review_level = fields.IntField(default=0)  # the level under review now (0: not routed)
    required_levels = fields.IntField(default=1)
    open_gaps = fields.IntField(default=0)  # 容缺 materials still missing
    tolerance_due_at = fields.DatetimeField(null=True)
    # Time limit: started at submission; paused while waiting on the applicant.
    sla_started_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    warning_at = fields.DatetimeField(null=True)
    sla_paused_at = fields.DatetimeField(null=True)
    sla_flag = fields.CharEnumField(SlaFlag, max_length=8, default=SlaFlag.NORMAL)
    escalated_at = fields.DatetimeField(null=True)
    reason_code = fields.CharField(max_length=8, default="")
    reason_text = fields.CharField(max_length=500, default="")
    submitted_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=16, default="")  # the final state, for statistics
    handling_seconds = fields.BigIntField(null=True)  # submitted → completed
    limit_seconds = fields.BigIntField(null=True)  # submitted → promised completion
    on_time = fields.BooleanField(null=True)
    rating = fields.SmallIntField(null=True)
    rating_comment = fields.CharField(max_length=300, default="")
    rated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "workflow_case"
        indexes = (
            Index(fields=("applicant_id", "created_at")),
            Index(fields=("station_id", "state", "created_at")),
            Index(fields=("state", "due_at")),  # the sweeper
            Index(fields=("state", "tolerance_due_at")),
            Index(fields=("submitted_at", "service_code")),  # statistics by period
        )


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


class CaseTask(Model):
    """One review task (level 1, 2, ...) in a category queue, with one holder at a time."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="tasks", on_delete=fields.CASCADE
    )
    case_id: int
    level = fields.SmallIntField()
    category = fields.CharField(max_length=32)
    status = fields.CharEnumField(TaskStatus, max_length=10, default=TaskStatus.OPEN)
    # Copied from the case so the queue query needs no join
    service_code = fields.CharField(max_length=48)
    station_id = fields.BigIntField(null=True)
    due_at = fields.DatetimeField(null=True)
    escalated = fields.BooleanField(default=False)
    holder_id = fields.BigIntField(null=True)
    claimed_at = fields.DatetimeField(null=True)
    completed_by_id = fields.BigIntField(null=True)
    outcome = fields.CharField(max_length=24, default="")
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "case_task"
        indexes = (
            # The reviewer queue: open tasks only (about a tenth of all tasks), in the exact
            # order the queue shows them, per category, per service and per station.
            PartialIndex(fields=("category", "due_at", "id"), condition={"status": "open"}),
            PartialIndex(fields=("service_code", "due_at", "id"), condition={"status": "open"}),
            PartialIndex(fields=("station_id", "due_at", "id"), condition={"status": "open"}),
            Index(fields=("holder_id", "status")),
            Index(fields=("escalated", "status", "due_at")),
            Index(fields=("case_id", "status")),
        )


class CaseEvent(Model):
    """Append-only history: one row per transition or task action."""

    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="events", on_delete=fields.CASCADE
    )
    case_id: int
    action = fields.CharField(max_length=32)
    from_state = fields.CharField(max_length=24)
    to_state = fields.CharField(max_length=24)
    actor_id = fields.BigIntField(null=True)
    actor_role = fields.CharField(max_length=20)
    reason_code = fields.CharField(max_length=8, default="")
    reason_text = fields.CharField(max_length=500, default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    citizen_text = fields.CharField(max_length=300, null=True)  # null: internal only
    at = fields.DatetimeField()

    class Meta:
        table = "case_event"
        indexes = (Index(fields=("case_id", "id")),)


class MaterialStatus(StrEnum):
    PROVIDED = "provided"
    MISSING = "missing"  # 容缺: to be supplied before the deadline
    RECEIVED = "received"  # supplied after acceptance


class CaseMaterial(Model):
    id = fields.BigIntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="materials", on_delete=fields.CASCADE
    )
    case_id: int
    key = fields.CharField(max_length=40)
    name = fields.CharField(max_length=60)
    is_key = fields.BooleanField()
    status = fields.CharEnumField(MaterialStatus, max_length=10)
    file_ref = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "case_material"
        unique_together = (("case", "key"),)


class CaseUpload(Model):
    """A supporting document (材料) uploaded for an applicant, before or after submission.

    A case's material reference ``upload:<id>`` must name an upload of the same applicant (or
    one already attached to that case); the case it is used in is recorded on first use."""

    id = fields.BigIntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="case_uploads", on_delete=fields.RESTRICT
    )
    person_id: int
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="uploads", null=True, on_delete=fields.SET_NULL
    )
    case_id: int | None
    uploaded_by: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="case_uploads", on_delete=fields.RESTRICT
    )
    uploaded_by_id: int
    file_key = fields.CharField(max_length=200)
    image_key = fields.CharField(max_length=200)  # what staff see (a PDF's first page)
    content_type = fields.CharField(max_length=40)
    size_bytes = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "case_upload"


class AuthorisationMethod(StrEnum):
    APP = "app"  # the citizen confirms in the app
    SIGNED_FORM = "signed_form"  # the clerk uploads a signed authorisation form


class AuthorisationStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"


class CaseAuthorisation(Model):
    """The applicant's authorisation of an assisted request (帮办代办授权)."""

    id = fields.BigIntField(primary_key=True)
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "models.Case", related_name="authorisation", on_delete=fields.CASCADE
    )
    case_id: int
    method = fields.CharEnumField(AuthorisationMethod, max_length=12)
    status = fields.CharEnumField(AuthorisationStatus, max_length=10)
    form_ref = fields.CharField(max_length=200, default="")  # the stored scan of the form
    form_number = fields.CharField(max_length=64, default="")
    recorded_by_id = fields.BigIntField(null=True)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "case_authorisation"


class CaseDocument(Model):
    """The one result document of a case (统一出件), verifiable by its code."""

    id = fields.BigIntField(primary_key=True)
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "models.Case", related_name="document", on_delete=fields.CASCADE
    )
    case_id: int
    verification_code = fields.CharField(max_length=20, unique=True)
    title = fields.CharField(max_length=60)
    outcome = fields.CharField(max_length=16)
    # masked facts shown on the document
    content: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    delivery_method = fields.CharField(max_length=10)
    issued_at = fields.DatetimeField()

    class Meta:
        table = "case_document"


class InboxMessage(Model):
    """A message to a citizen (the applicant): one per step of their case. A message about the
    account itself (its real-name binding ended) is addressed to the account instead."""

    id = fields.BigIntField(primary_key=True)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="inbox", null=True, on_delete=fields.CASCADE
    )
    person_id: int | None
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="inbox", null=True, on_delete=fields.CASCADE
    )
    account_id: int | None
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="messages", null=True, on_delete=fields.CASCADE
    )
    case_id: int | None
    title = fields.CharField(max_length=60)
    body = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_message"
        indexes = (Index(fields=("person_id", "created_at")),)
