"""What distinguishes one entitlement type from another: the data the shared template reads.

An entitlement is a record a person holds after their application (a case of ``service``) was
issued: one active record per person and *slot* (a disease, a filing category), enforced by a
row lock on the person while applying and by the record's unique ``active_slot``. It lapses
when ``valid_to`` has passed; lapsing is computed on read and written by the type's periodic
job (and by the next application of the person, which needs the slot free).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from tortoise.models import Model

from backend.errors import Conflict, NotFound
from config.policy import Policies, PolicyTable
from workflows.vocabulary import OWNERS

LAPSED_REASON = "有效期届满"


class EntitlementNotFound(NotFound):
    """The record does not exist or is not the caller's (each type names its own code)."""


class EntitlementChanged(Conflict):
    """Someone else changed the record since the caller read it (compare-and-set lost)."""


@dataclass(frozen=True)
class EntitlementSpec:
    service: str  # the case service whose issuance records the entitlement
    model: type[Model]  # the record: person, case, serial, valid_from/to, status, active_slot...
    serial_prefix: str  # serial = prefix + case id on twelve digits
    slot_field: str  # the record's field one active entitlement per person is keyed by
    slot_form_key: str  # the same value in an application's form (open applications)
    proof_keys: tuple[str, ...]  # the definition's material keys a type's policy may ask for
    active: str  # the status of a record in force
    lapsed: str  # the status a record gets when its validity is over
    covering: tuple[str, ...] | None  # statuses that cover a day (None: any, by dates alone)
    covering_order: str  # order of the records covering a day
    policy_of: Callable[[Policies], PolicyTable[Any]]
    not_found: type[EntitlementNotFound]
    changed: type[EntitlementChanged]
    id_detail: str  # the error detail naming the active record (``filing_id``)
    active_code: str  # a second active record of the slot
    active_message: Callable[[str], str]  # slot value -> message, applying
    recorded_message: Callable[[str], str]  # slot value -> message, recording on issuance
    in_progress_code: str  # an open application of the slot
    in_progress_message: str

    @property
    def owner(self) -> str:
        return OWNERS[self.service]


class Held(Protocol):
    """The fields of an entitlement record the template reads."""

    id: int
    serial: str
    case_id: int
    status: Any
    valid_from: date
    valid_to: date | None
    end_reason: str
    version: int
