"""Natural persons: stored with the ID number encrypted and found by its blind index."""

from __future__ import annotations

from datetime import date

from tortoise.exceptions import IntegrityError

from backend.clock import local_today
from backend.container import Container
from backend.errors import InvalidInput
from backend.identity.idcard import IdNumber, parse_id_number
from backend.identity.models import Person
from backend.infra.crypto import mask_birth_date, mask_id_number

ID_FIELD = "id_number"
PHONE_FIELD = "phone"


def id_index(c: Container, id_number: str) -> str:
    return c.pii.blind_index(id_number, ID_FIELD)


async def find_person(c: Container, id_number: str) -> Person | None:
    return await Person.get_or_none(id_number_idx=id_index(c, id_number))


def check_name(name: str) -> str:
    name = name.strip()
    if not 2 <= len(name) <= 30:
        raise InvalidInput("姓名长度应为 2 到 30 个字符", code="NAME_INVALID")
    return name


async def find_or_create_person(c: Container, name: str, raw_id_number: str) -> Person:
    """The person with this ID number; created when new. A different name on record for the
    same ID number is refused: a person is identified by both."""
    idn: IdNumber = parse_id_number(raw_id_number, local_today(c.clock))
    name = check_name(name)
    existing = await find_person(c, idn.value)
    if existing is None:
        try:
            return await Person.create(
                name=name,
                id_number_enc=c.pii.encrypt(idn.value, ID_FIELD),
                id_number_idx=id_index(c, idn.value),
                birth_date=idn.birth_date,
                gender=idn.gender,
                region_code=idn.region_code,
            )
        except IntegrityError:  # created concurrently by another request
            existing = await find_person(c, idn.value)
            assert existing is not None
    if existing.name != name:
        raise InvalidInput("姓名与身份证号码不一致", code="NAME_MISMATCH")
    return existing


def id_number_of(c: Container, person: Person) -> str:
    return c.pii.decrypt(person.id_number_enc, ID_FIELD)


def masked_id_number(c: Container, person: Person) -> str:
    return mask_id_number(id_number_of(c, person))


def person_view(c: Container, person: Person, *, full: bool = False) -> dict[str, object]:
    """What a response may show of a person (the masking policy, ``backend.infra.crypto``):
    the ID number always masked; the full birth date only with ``full=True``, for the person
    themself and their guardians, since beside the masked number it nearly gives the rest."""
    return masked_person_view(
        c,
        id=person.id,
        name=person.name,
        id_number_enc=person.id_number_enc,
        gender=person.gender,
        birth_date=person.birth_date,
        full=full,
    )


def masked_person_view(
    c: Container,
    *,
    id: int,
    name: str,
    id_number_enc: str,
    gender: str,
    birth_date: date,
    full: bool = False,
) -> dict[str, object]:
    """``person_view`` from a ``person`` row read without the ORM (raw SQL)."""
    return {
        "id": id,
        "name": name,
        "id_number": mask_id_number(c.pii.decrypt(id_number_enc, ID_FIELD)),
        "gender": gender,
        "birth_date": birth_date.isoformat() if full else mask_birth_date(birth_date),
    }


async def lock_person(person_id: int) -> Person:
    """Lock a person's row for the rest of the transaction: the first lock of the documented
    order (docs/lock-order.md). ``FOR NO KEY UPDATE``: it serialises everything done for one
    person, but rows that merely reference the person (a case, an inbox message) can still be
    inserted meanwhile, since their foreign-key check takes only a key-share lock."""
    return await Person.select_for_update(no_key=True).get(id=person_id)
