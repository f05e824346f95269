"""The life of an entitlement, shared by every type (see :mod:`backend.entitlements.spec`):
applying (one active record and one open application per person and slot), a successor that
replaces a record (renewal, change), recording on issuance, ending by compare-and-set, lapsing,
and the holder's reads. Reads never write: a record whose validity is over reads as lapsed
until the type's periodic job (or the person's next application) writes it so."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from backend.cases import access, assisted, owned, submission
from backend.cases.models import Case
from backend.clock import local_today
from backend.container import Container
from backend.entitlements.spec import LAPSED_REASON, EntitlementSpec, Held
from backend.errors import Conflict
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from workflows.definition import FINAL_STATES


def policy(c: Container, spec: EntitlementSpec, on: date | None = None) -> Any:
    """The type's policy in force on ``on`` (today by default)."""
    return spec.policy_of(c.policies).at(on or local_today(c.clock))


def proof_facts(spec: EntitlementSpec, needed: Collection[str]) -> dict[str, Any]:
    """The ``$need_<key>`` facts the workflow definition's material conditions read."""
    return {f"$need_{key}": key in needed for key in spec.proof_keys}


# -- standing: what a record is today, computed ---------------------------------------------


@dataclass(frozen=True)
class Standing:
    status: str
    end_reason: str


def standing(spec: EntitlementSpec, row: Held, today: date) -> Standing:
    """The record's status and end reason today: an active record whose validity is over is
    lapsed, written or not."""
    status = str(row.status)
    if status == spec.active and row.valid_to is not None and row.valid_to < today:
        return Standing(spec.lapsed, LAPSED_REASON)
    return Standing(status, row.end_reason)


def in_force(spec: EntitlementSpec, row: Held, today: date) -> bool:
    return standing(spec, row, today).status == spec.active


async def expire_lapsed(c: Container, spec: EntitlementSpec, person_id: int | None = None) -> int:
    """Write the lapse of active records whose validity is over (frees their slots). One
    conditional UPDATE: safe to run twice or concurrently."""
    query = spec.model.filter(status=spec.active, valid_to__lt=local_today(c.clock))
    if person_id is not None:
        query = query.filter(person_id=person_id)
    now = c.clock.now()
    return await query.update(
        status=spec.lapsed,
        active_slot=None,
        end_reason=LAPSED_REASON,
        ended_at=now,
        updated_at=now,
    )


# -- applying ---------------------------------------------------------------------------------


class Application(Protocol):
    """What every entitlement request carries besides its form."""

    @property
    def materials(self) -> list[Mapping[str, str]]: ...

    @property
    def delivery_method(self) -> str | None: ...


def new_case(
    spec: EntitlementSpec, req: Application, derived: Mapping[str, Any], form: Mapping[str, Any]
) -> submission.NewCase:
    return submission.NewCase(
        service_code=spec.service,
        form=form,
        materials=list(req.materials),
        delivery_method=req.delivery_method,
        origin=spec.owner,
        derived=derived,
    )


async def check_free(
    spec: EntitlementSpec, person_id: int, slot: str, *, replacing: int | None
) -> None:
    """Inside the person's lock: no other active record or open application of the slot."""
    of_slot: dict[str, Any] = {spec.slot_field: slot}
    active = await spec.model.get_or_none(person_id=person_id, status=spec.active, **of_slot)
    if active is not None and active.pk != replacing:
        raise Conflict(
            spec.active_message(slot), code=spec.active_code, **{spec.id_detail: active.pk}
        )
    open_cases = await Case.filter(
        applicant_id=person_id,
        service_code=spec.service,
        state__not_in=[s.value for s in FINAL_STATES],
    ).values_list("id", "form")
    for case_id, form in open_cases:
        if (form or {}).get(spec.slot_form_key) == slot:
            raise Conflict(spec.in_progress_message, code=spec.in_progress_code, case_id=case_id)


async def submit(
    c: Container,
    spec: EntitlementSpec,
    principal: Principal,
    new: submission.NewCase,
    slot: str,
    assisted: assisted.Assistance | None = None,
) -> Case:
    """A first application for the slot, by the citizen or a station for them (``assisted``)."""

    async def guard(person_id: int) -> None:
        await expire_lapsed(c, spec, person_id)  # a lapsed record gives its slot back
        await check_free(spec, person_id, slot, replacing=None)

    return await owned.submit_owned(c, principal, new, guard, assisted)


async def submit_successor(
    c: Container, spec: EntitlementSpec, principal: Principal, old: Any, new: submission.NewCase
) -> Case:
    """An application that replaces ``old`` when issued (a renewal, a change)."""
    async with in_transaction():
        await lock_person(old.person_id)
        # under the lock: an ending of ``old`` that committed meanwhile wins
        if not await spec.model.filter(id=old.id, status=spec.active, version=old.version).exists():
            raise spec.changed()
        await check_free(spec, old.person_id, getattr(old, spec.slot_field), replacing=old.id)
        return await submission.submit(c, principal, new)


# -- recording and ending ---------------------------------------------------------------------


async def record(spec: EntitlementSpec, case: Case, slot: str, now: datetime, **fields: Any) -> Any:
    """The active record of an issued case (the database refuses a second one of the slot)."""
    person_id: int = case.applicant_id
    try:
        async with in_transaction():
            return await spec.model.create(
                serial=f"{spec.serial_prefix}{case.id:012d}",
                person_id=person_id,
                case=case,
                status=spec.active,
                active_slot=f"{person_id}:{slot}",
                created_at=now,
                updated_at=now,
                **cast(dict[str, Any], {spec.slot_field: slot}),
                **fields,
            )
    except IntegrityError as exc:
        raise Conflict(spec.recorded_message(slot), code=spec.active_code) from exc


async def end(spec: EntitlementSpec, row: Held, now: datetime, **changes: Any) -> None:
    """End (or supersede) a record as read: compare-and-set on its status and version."""
    done = await spec.model.filter(id=row.id, status=row.status, version=row.version).update(
        active_slot=None, version=row.version + 1, updated_at=now, **changes
    )
    if done != 1:
        raise spec.changed()


# -- the holder's reads -----------------------------------------------------------------------


async def own(c: Container, spec: EntitlementSpec, principal: Principal, record_id: int) -> Any:
    """One record of the citizen's, or the type's not-found error."""
    person_id = await access.applicant_person_id(principal)
    row = await spec.model.get_or_none(id=record_id, person_id=person_id)
    if row is None:
        raise spec.not_found()
    return row


async def mine(spec: EntitlementSpec, principal: Principal) -> list[Any]:
    """All the citizen's records, the latest first."""
    person_id = await access.applicant_person_id(principal)
    return await spec.model.filter(person_id=person_id).order_by("-valid_from", "-id")


def covering(spec: EntitlementSpec, person_id: int, day: date) -> QuerySet[Any]:
    """The person's records that cover ``day``."""
    query = spec.model.filter(person_id=person_id, valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    if spec.covering is not None:
        query = query.filter(status__in=list(spec.covering))
    return query


async def covering_today(c: Container, spec: EntitlementSpec, person_id: int) -> list[Any]:
    """The person's records covering today (the e-voucher answer, the profile)."""
    return await covering(spec, person_id, local_today(c.clock)).order_by(spec.covering_order)
