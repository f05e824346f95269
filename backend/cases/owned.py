"""Submission for services whose domain keeps one record per person (a filing, a
qualification): the domain's guard and the submission run under the applicant's lock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise.transactions import in_transaction

from backend.cases.access import applicant_person_id
from backend.cases.assisted import Assistance, assisting_station, submit_assisted
from backend.cases.models import Case
from backend.cases.submission import NewCase, submit
from backend.container import Container
from backend.errors import NotFound
from backend.identity.persons import find_person, lock_person
from backend.identity.principal import Principal


async def submit_owned(
    c: Container,
    principal: Principal,
    request: NewCase,
    guard: Callable[[int], Awaitable[None]],
    assistance: Assistance | None = None,
) -> Case:
    """Submit a case of a service whose domain keeps one record per person: ``guard(person_id)``
    — no active record, no open application — runs under the applicant's row lock, so two
    concurrent applications cannot both pass it."""
    if assistance is None:
        person_id = await applicant_person_id(principal)
    else:
        await assisting_station(c, principal, request.service_code)  # refuse before locking
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
