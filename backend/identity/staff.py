"""Staff accounts as an admin manages them: the list, and creating an account with its role,
station and reviewer categories (the password is hashed like every other, the act audited).
Deactivation is :func:`backend.identity.service.deactivate_account`."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.audit.service import record
from backend.container import Container
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.identity.models import Account, Role
from backend.identity.passwords import hash_password
from backend.identity.principal import Principal
from backend.identity.results import StaffAccount
from backend.stations.models import Station
from workflows.vocabulary import CATEGORIES

_USERNAME = re.compile(r"^[a-z][a-z0-9_]{2,31}$")
STAFF_ROLES = (Role.STATION_STAFF, Role.REVIEWER, Role.SUPERVISOR, Role.FINANCE, Role.ADMIN)


def _admin_only(actor: Principal) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("只有系统管理员可以管理账户", code="ADMIN_ONLY")


def account_view(a: Account) -> StaffAccount:
    return StaffAccount(
        id=a.id,
        username=a.username,
        display_name=a.display_name,
        role=a.role.value,
        station_id=a.station_id,
        categories=list(a.categories or []),
        is_active=a.is_active,
    )


async def list_staff(c: Container, actor: Principal) -> list[StaffAccount]:
    _admin_only(actor)
    rows = await Account.filter(role__in=list(STAFF_ROLES)).order_by("id")
    return [account_view(a) for a in rows]


async def reviewers_of(category: str) -> list[StaffAccount]:
    """Active reviewers who may take a task of ``category`` (for reassignment)."""
    rows = await Account.filter(role=Role.REVIEWER, is_active=True).order_by("id")
    return [account_view(a) for a in rows if category in (a.categories or [])]


async def create_staff(
    c: Container,
    actor: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    station_id: int | None = None,
    categories: list[str] | None = None,
) -> Account:
    _admin_only(actor)
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("用户名应为3到32位小写字母、数字或下划线，以字母开头", field="username")
    if role not in STAFF_ROLES:
        raise InvalidInput("岗位不正确", field="role")
    if len(password) < 10:
        raise InvalidInput("初始密码至少10位", field="password")
    if role is Role.STATION_STAFF:
        if station_id is None or not await Station.exists(id=station_id):
            raise NotFound("未找到该服务站", code="STATION_NOT_FOUND")
    else:
        station_id = None
    cats = sorted({x.strip() for x in categories or [] if x.strip()})
    unknown = [x for x in cats if x not in CATEGORIES]
    if unknown:
        raise InvalidInput(f"审核类别不存在：{'、'.join(unknown)}", field="categories")
    if role is not Role.REVIEWER and role is not Role.SUPERVISOR:
        cats = []
    try:
        async with in_transaction():
            account = await Account.create(
                role=role,
                username=username,
                display_name=display_name.strip()[:50],
                password_hash=hash_password(password),
                station_id=station_id,
                categories=cats,
            )
            await record(
                c,
                actor=actor,
                action="identity.account_created",
                subject_type="account",
                subject_id=account.id,
                data={
                    "username": username,
                    "role": role.value,
                    "station_id": station_id,
                    "categories": cats,
                },
            )
    except IntegrityError:
        raise Conflict("用户名已被使用", code="USERNAME_TAKEN") from None
    return account
