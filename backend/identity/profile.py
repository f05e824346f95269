"""The caller's own profile: their account, person and station, as the app shows them; kept
in the shared cache (the app's busiest read) and dropped whenever the account changes."""

from __future__ import annotations

from backend.container import Container
from backend.errors import Unauthorized
from backend.identity.models import Account, Person
from backend.identity.persons import PHONE_FIELD, person_view
from backend.identity.principal import Principal
from backend.infra.crypto import mask_phone


async def load_account(principal: Principal) -> Account:
    account = await Account.get_or_none(id=principal.account_id).select_related("person", "station")
    if account is None or not account.is_active:
        raise Unauthorized("登录已失效，请重新登录", code="TOKEN_INVALID")
    return account


def profile_view(c: Container, account: Account) -> dict[str, object]:
    person: Person | None = account.person
    station = account.station
    phone = None
    if person is not None and person.phone_enc:
        phone = mask_phone_of(c, person)
    return {
        "id": account.id,
        "role": account.role.value,
        "display_name": account.display_name or (person.name if person else ""),
        "username": account.username,
        "bound": person is not None,
        "person": person_view(c, person, full=True) if person is not None else None,
        "phone": phone,
        "station": (
            {"id": station.id, "code": station.code, "name": station.name, "level": station.level}
            if station is not None
            else None
        ),
        "categories": list(account.categories or []),
    }


def mask_phone_of(c: Container, person: Person) -> str:
    return mask_phone(c.pii.decrypt(person.phone_enc or "", PHONE_FIELD))


def _profile_key(account_id: int) -> str:
    return f"profile:{account_id}"


async def me(c: Container, principal: Principal) -> dict[str, object]:
    """The caller's own profile: one primary-key query with its person and station, kept in
    the shared cache (the app's busiest read) and dropped whenever the account changes."""

    async def load() -> dict[str, object]:
        return profile_view(c, await load_account(principal))

    return await c.cache.get_or_load(_profile_key(principal.account_id), load)


async def profile_changed(c: Container, account_id: int) -> None:
    """Call after any change to what :func:`profile_view` shows."""
    await c.cache.invalidate(_profile_key(account_id))
