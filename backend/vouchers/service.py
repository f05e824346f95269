"""The citizen's side of the e-voucher: activate, list, revoke (lost phone), re-activate, fetch a
fresh code, and see where each voucher was used.

- Only a citizen bound to a real name (Account.person) holds vouchers. A holder has one voucher
  for themself and may activate family vouchers (亲情账户) for the family members they may act
  for (``backend.family.service.can_act_for``), at most ``family.max_members`` of them.
- A voucher of another citizen, or one that does not exist, is a 404 either way.
- Activation, revocation and re-activation are audited inside their transaction; the voucher's
  cached state is invalidated in every process after the change commits.
- A code is minted per request (the app asks for a fresh one when the last expires), at most
  ``voucher.codes_per_minute`` per voucher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.clock import local_today
from backend.container import Container
from backend.errors import Conflict, NotFound, TooManyRequests
from backend.family.service import bound_person, can_act_for
from backend.identity.models import Person
from backend.identity.persons import lock_person, person_view
from backend.identity.principal import Principal
from backend.vouchers import errors
from backend.vouchers.codes import IssuedCode, issue_code, new_voucher_id, valid_voucher_id
from backend.vouchers.keys import keyring_for
from backend.vouchers.models import Voucher, VoucherStatus, VoucherUse
from backend.vouchers.use_log import UseRow
from config.policy import VoucherPolicy

MAX_PAGE_SIZE = 100


def state_key(voucher_id: str) -> str:
    """The shared-cache key of a voucher's verification state (see ``verification``)."""
    return f"voucher:{voucher_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def voucher_view(c: Container, voucher: Voucher, person: Person) -> dict[str, Any]:
    return {
        "id": voucher.id,
        "status": VoucherStatus(voucher.status).value,
        "family": voucher.person_id != voucher.holder_id,
        "person": person_view(c, person),
        "activated_at": _iso(voucher.activated_at),
        "revoked_at": _iso(voucher.revoked_at),
    }


async def _held(c: Container, principal: Principal, voucher_id: str) -> tuple[Person, Voucher]:
    holder = await bound_person(c, principal)
    voucher = None
    if valid_voucher_id(voucher_id):
        voucher = await Voucher.get_or_none(id=voucher_id, holder_id=holder.id)
    if voucher is None:  # another citizen's voucher looks exactly like a missing one
        raise errors.VoucherNotFound()
    return holder, voucher


async def _check_family_limit(c: Container, holder: Person) -> None:
    limit = c.policies.family.at(local_today(c.clock)).max_members
    held = (
        await Voucher.filter(holder_id=holder.id, status=VoucherStatus.ACTIVE)
        .exclude(person_id=holder.id)
        .count()
    )
    if held >= limit:
        raise errors.FamilyVoucherLimit(
            f"亲情账户凭证已达上限（最多 {limit} 人）", max_members=limit
        )


async def activate(c: Container, principal: Principal, person_id: int | None) -> dict[str, Any]:
    """Activate the holder's own voucher (``person_id`` None or their own) or a family
    voucher. A revoked voucher for the same person is re-activated."""
    holder = await bound_person(c, principal)
    target_id = person_id if person_id is not None else holder.id
    family = target_id != holder.id
    if family and not await can_act_for(c, holder.id, target_id):
        raise NotFound("未找到该家庭成员，或其尚未同意授权", code="PERSON_NOT_FOUND")
    now = c.clock.now()
    async with in_transaction():
        # Lock the holder: concurrent activations of one holder take turns, so the limit holds.
        await lock_person(holder.id)
        voucher = await Voucher.select_for_update().get_or_none(
            holder_id=holder.id, person_id=target_id
        )
        if voucher is not None and voucher.status == VoucherStatus.ACTIVE:
            raise errors.VoucherAlreadyActive(voucher_id=voucher.id)
        if family:
            await _check_family_limit(c, holder)
        if voucher is None:
            try:
                async with in_transaction():
                    voucher = await Voucher.create(
                        id=new_voucher_id(),
                        person_id=target_id,
                        holder_id=holder.id,
                        status=VoucherStatus.ACTIVE,
                        activated_at=now,
                        created_at=now,
                    )
            except IntegrityError as exc:
                raise Conflict("凭证正在激活，请稍后重试", code="VOUCHER_BUSY") from exc
            action = "voucher.activate"
        else:
            await _set_active(voucher, now)
            action = "voucher.reactivate"
        await record(
            c,
            actor=principal,
            action=action,
            subject_type="voucher",
            subject_id=voucher.id,
            data={"person_id": target_id, "family": family},
        )
    await c.cache.invalidate(state_key(voucher.id))
    return voucher_view(c, voucher, await Person.get(id=target_id))


async def _set_active(voucher: Voucher, now: datetime) -> None:
    voucher.status = VoucherStatus.ACTIVE
    voucher.activated_at = now
    voucher.revoked_at = None
    voucher.revoke_reason = ""
    voucher.version += 1
    await voucher.save(
        update_fields=["status", "activated_at", "revoked_at", "revoke_reason", "version"]
    )


async def list_vouchers(c: Container, principal: Principal) -> dict[str, Any]:
    holder = await bound_person(c, principal)
    vouchers = (
        await Voucher.filter(holder_id=holder.id)
        .order_by("created_at", "id")
        .select_related("person")
    )
    # The holder's own voucher first, then family vouchers in activation order.
    vouchers.sort(key=lambda v: v.person_id != holder.id)
    return {
        "items": [voucher_view(c, v, v.person) for v in vouchers],
        "family_limit": c.policies.family.at(local_today(c.clock)).max_members,
    }


async def get_voucher(c: Container, principal: Principal, voucher_id: str) -> dict[str, Any]:
    _, voucher = await _held(c, principal, voucher_id)
    return voucher_view(c, voucher, await Person.get(id=voucher.person_id))


async def revoke(
    c: Container, principal: Principal, voucher_id: str, *, reason: str = ""
) -> dict[str, Any]:
    """挂失: codes of this voucher are refused from now on, everywhere. Revoking a revoked
    voucher changes nothing."""
    _, voucher = await _held(c, principal, voucher_id)
    now = c.clock.now()
    async with in_transaction():
        voucher = await Voucher.select_for_update().get(id=voucher.id)
        if voucher.status == VoucherStatus.ACTIVE:
            voucher.status = VoucherStatus.REVOKED
            voucher.revoked_at = now
            voucher.revoke_reason = reason[:100]
            voucher.version += 1
            await voucher.save(update_fields=["status", "revoked_at", "revoke_reason", "version"])
            await record(
                c,
                actor=principal,
                action="voucher.revoke",
                subject_type="voucher",
                subject_id=voucher.id,
                reason=reason[:100],
                data={"person_id": voucher.person_id},
            )
    await c.cache.invalidate(state_key(voucher.id))
    return voucher_view(c, voucher, await Person.get(id=voucher.person_id))


async def reactivate(c: Container, principal: Principal, voucher_id: str) -> dict[str, Any]:
    holder, voucher = await _held(c, principal, voucher_id)
    family = voucher.person_id != holder.id
    if family and not await can_act_for(c, holder.id, voucher.person_id):
        raise errors.FamilyAuthorisationLapsed()
    now = c.clock.now()
    async with in_transaction():
        await lock_person(holder.id)
        voucher = await Voucher.select_for_update().get(id=voucher.id)
        if voucher.status == VoucherStatus.ACTIVE:
            raise errors.VoucherAlreadyActive(voucher_id=voucher.id)
        if family:
            await _check_family_limit(c, holder)
        await _set_active(voucher, now)
        await record(
            c,
            actor=principal,
            action="voucher.reactivate",
            subject_type="voucher",
            subject_id=voucher.id,
            data={"person_id": voucher.person_id, "family": family},
        )
    await c.cache.invalidate(state_key(voucher.id))
    return voucher_view(c, voucher, await Person.get(id=voucher.person_id))


@dataclass(frozen=True)
class FreshCode:
    issued: IssuedCode
    ttl_s: int

    def as_json(self) -> dict[str, Any]:
        from datetime import UTC

        return {
            "voucher_id": self.issued.voucher_id,
            "code": self.issued.code,
            "kid": self.issued.kid,
            "issued_at": datetime.fromtimestamp(self.issued.issued_at, UTC).isoformat(),
            "expires_at": datetime.fromtimestamp(self.issued.expires_at, UTC).isoformat(),
            "ttl_s": self.ttl_s,
        }


async def fresh_code(c: Container, principal: Principal, voucher_id: str) -> FreshCode:
    """A new signed code for a voucher the caller holds and may still show."""
    holder, voucher = await _held(c, principal, voucher_id)
    if voucher.status != VoucherStatus.ACTIVE:
        raise errors.VoucherNotActive()
    if voucher.person_id != holder.id and not await can_act_for(
        c,
        holder.id,
        voucher.person_id,
    ):
        raise errors.FamilyAuthorisationLapsed()
    policy = c.policies.voucher.at(local_today(c.clock))
    minted = await c.kv.hit(f"voucher-codes:{voucher.id}", 60, c.clock.now().timestamp())
    if minted > policy.codes_per_minute:
        raise TooManyRequests("获取凭证码过于频繁，请稍后再试", code="VOUCHER_CODE_RATE_LIMITED")
    now = c.clock.now()
    key = keyring_for(c.settings).keys.signer(now)
    ttl = c.settings.voucher_code_ttl_s
    return FreshCode(issue_code(key, voucher.id, now, ttl), ttl)


def use_view(
    c: Container, use: VoucherUse | UseRow, policy: VoucherPolicy | None = None
) -> dict[str, Any]:
    """``policy``: today's voucher policy when the caller holds it already."""
    policy = policy or c.policies.voucher.at(local_today(c.clock))
    purpose = policy.purposes.get(use.purpose)
    return {
        "id": use.id,
        "used_at": _iso(use.used_at),
        "institution": {
            "code": use.institution_code,
            "name": use.institution_name,
            "city_code": use.city_code,
        },
        "purpose": use.purpose,
        "purpose_name": purpose.name if purpose else None,
        "mode": use.mode.value if hasattr(use.mode, "value") else use.mode,
    }


async def list_uses(
    c: Container, principal: Principal, voucher_id: str, *, page: int, size: int
) -> dict[str, Any]:
    """Where and when the voucher was used, newest first."""
    _, voucher = await _held(c, principal, voucher_id)
    size = max(1, min(size, MAX_PAGE_SIZE))
    query = VoucherUse.filter(voucher_id=voucher.id)
    rows = await query.order_by("-used_at", "-id").offset((page - 1) * size).limit(size)
    return {
        "voucher_id": voucher.id,
        "page": page,
        "size": size,
        "total": await query.count(),
        "items": [use_view(c, u) for u in rows],
    }
