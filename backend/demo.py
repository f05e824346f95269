"""Demo data for ``yibao seed-demo`` (and ``make run``): a district with its towns/streets and
villages/communities and their service stations, staff of every role, and citizens with
families, including a minor and an adult whose consent is still pending.

Idempotent: everything is looked up by its natural key (station code, username, simulator
user, ID number, family link, form number) and only created when missing, so a second run
creates nothing and prints the same logins. Family links and the station-recorded consent go
through the real services, so they are validated and audited like any other.

All names and ID numbers are fictitious; the ID numbers are merely well-formed (GB 11643).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.container import Container
from backend.family import service as family
from backend.family.models import FamilyMember, Relation, StationAuthorisation
from backend.identity.idcard import check_character
from backend.identity.idp import LocalIdentityProvider
from backend.identity.models import Account, Person, Role
from backend.identity.passwords import hash_password
from backend.identity.persons import find_or_create_person, find_person, masked_id_number
from backend.identity.principal import Principal
from backend.stations import assisted
from backend.stations.models import Station, StationLevel
from backend.stations.service import SERVICE_ITEMS, create_station

DEMO_PASSWORD = "Demo@2025"
REGION = "330106"
REVIEW_CATEGORIES: dict[str, str] = {
    "insurance_info": "参保信息",
    "enrollment": "参保登记",
    "remote_care": "异地就医",
    "chronic_disease": "门诊慢特病",
    "reimbursement": "零星报销",
}

_ALL = list(SERVICE_ITEMS)
_INFO, _ENROL, _REMOTE, _CHRONIC = (
    "insurance_info_change",
    "enrollment",
    "remote_care_filing",
    "chronic_disease",
)

# (code, name, level, parent code, delegated items), parents before children
STATIONS: list[tuple[str, str, StationLevel, str | None, list[str]]] = [
    ("XQ00", "某市某区医保服务中心", StationLevel.DISTRICT, None, _ALL),
    ("XQ01", "东城街道医保服务站", StationLevel.TOWN, "XQ00", _ALL),
    ("XQ02", "南山镇医保服务站", StationLevel.TOWN, "XQ00", [_INFO, _ENROL, _REMOTE, _CHRONIC]),
    ("XQ03", "青石镇医保服务站", StationLevel.TOWN, "XQ00", [_INFO, _ENROL, _REMOTE]),
    ("XQ01-01", "翠苑社区医保服务点", StationLevel.VILLAGE, "XQ01", [_INFO, _ENROL, _REMOTE]),
    ("XQ01-02", "文新社区医保服务点", StationLevel.VILLAGE, "XQ01", [_INFO, _ENROL]),
    ("XQ02-01", "南山村医保服务点", StationLevel.VILLAGE, "XQ02", [_INFO, _ENROL, _CHRONIC]),
    ("XQ02-02", "桃源村医保服务点", StationLevel.VILLAGE, "XQ02", [_ENROL]),
    ("XQ03-01", "青石村医保服务点", StationLevel.VILLAGE, "XQ03", [_INFO, _ENROL]),
]

# (username, display name, role, station code, reviewer categories)
STAFF: list[tuple[str, str, Role, str | None, list[str]]] = [
    ("clerk_dongcheng", "东城街道窗口·周敏", Role.STATION_STAFF, "XQ01", []),
    ("clerk_cuiyuan", "翠苑社区帮办员·吴磊", Role.STATION_STAFF, "XQ01-01", []),
    ("clerk_nanshan", "南山镇窗口·郑洁", Role.STATION_STAFF, "XQ02", []),
    ("clerk_nanshancun", "南山村帮办员·孙涛", Role.STATION_STAFF, "XQ02-01", []),
    ("reviewer_info", "审核员·参保信息", Role.REVIEWER, None, ["insurance_info"]),
    ("reviewer_enroll", "审核员·参保登记", Role.REVIEWER, None, ["enrollment"]),
    ("reviewer_remote", "审核员·异地就医", Role.REVIEWER, None, ["remote_care"]),
    ("reviewer_chronic", "审核员·门诊慢特病", Role.REVIEWER, None, ["chronic_disease"]),
    ("reviewer_claims", "审核员·零星报销", Role.REVIEWER, None, ["reimbursement"]),
    ("reviewer_claims2", "复核员·零星报销", Role.REVIEWER, None, ["reimbursement"]),
    ("supervisor", "科长·业务监督", Role.SUPERVISOR, None, list(REVIEW_CATEGORIES)),
    ("admin", "系统管理员", Role.ADMIN, None, []),
]


@dataclass(frozen=True)
class DemoPerson:
    name: str
    born: date
    seq: int  # the 3-digit sequence: odd for men

    @property
    def id_number(self) -> str:
        first17 = f"{REGION}{self.born:%Y%m%d}{self.seq:03d}"
        return first17 + check_character(first17)


ZHANG_WEI = DemoPerson("张伟", date(1985, 3, 12), 31)
LI_NA = DemoPerson("李娜", date(1987, 7, 21), 42)
ZHANG_XIAOYU = DemoPerson("张小雨", date(2016, 9, 1), 64)
ZHANG_JIANGUO = DemoPerson("张建国", date(1958, 11, 5), 17)
WANG_FANG = DemoPerson("王芳", date(1990, 5, 18), 26)
LIU_QIANG = DemoPerson("刘强", date(1988, 2, 14), 53)
LIU_ZIHAN = DemoPerson("刘子涵", date(2019, 4, 30), 75)
CHEN_JING = DemoPerson("陈静", date(1995, 12, 3), 88)

# simulator user name → the person its account is bound to
CITIZENS: list[tuple[str, DemoPerson]] = [
    ("zhangwei", ZHANG_WEI),
    ("wangfang", WANG_FANG),
    ("liuqiang", LIU_QIANG),
    ("chenjing", CHEN_JING),
]

# (account holder's user, member, relation)
FAMILY: list[tuple[str, DemoPerson, Relation]] = [
    ("zhangwei", ZHANG_XIAOYU, Relation.CHILD),  # a minor: no consent needed
    ("zhangwei", LI_NA, Relation.SPOUSE),  # an adult without an account: pending
    ("zhangwei", ZHANG_JIANGUO, Relation.PARENT),  # consent recorded at a station below
    ("wangfang", LIU_ZIHAN, Relation.CHILD),  # a minor
    ("wangfang", LIU_QIANG, Relation.SPOUSE),  # pending until liuqiang grants it in the app
]

# (clerk, form number, grantor = consenting member, grantee = account holder)
CONSENT_FORMS: list[tuple[str, str, DemoPerson, DemoPerson]] = [
    ("clerk_cuiyuan", "SQ-2025-0001", ZHANG_JIANGUO, ZHANG_WEI),
]


def _principal(account: Account) -> Principal:
    return Principal(
        account_id=account.id,
        role=account.role,
        session="demo-seed",
        station_id=account.station_id,  # type: ignore[attr-defined]
        categories=tuple(account.categories or ()),
    )


async def _stations(c: Container) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for code, name, level, parent_code, items in STATIONS:
        station = await Station.get_or_none(code=code)
        if station is None:
            parent = stations[parent_code] if parent_code else None
            station = await create_station(
                c, code=code, name=name, level=level, parent=parent, items=items
            )
        stations[code] = station
    return stations


async def _staff(stations: dict[str, Station]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for username, display, role, station_code, categories in STAFF:
        account = await Account.get_or_none(username=username)
        if account is None:
            account = await Account.create(
                role=role,
                username=username,
                display_name=display,
                password_hash=hash_password(DEMO_PASSWORD),
                station=stations[station_code] if station_code else None,
                categories=categories,
            )
        accounts[username] = account
    return accounts


async def _citizens(c: Container) -> dict[str, Account]:
    idp = LocalIdentityProvider()
    accounts: dict[str, Account] = {}
    for user, who in CITIZENS:
        openid = idp.openid_for(user)
        account = await Account.get_or_none(openid=openid)
        if account is None:
            person = await find_or_create_person(c, who.name, who.id_number)
            account = await Account.create(
                role=Role.CITIZEN, openid=openid, display_name=who.name, person=person
            )
        accounts[user] = account
    return accounts


async def _families(c: Container, citizens: dict[str, Account]) -> None:
    for user, member, relation in FAMILY:
        holder = citizens[user]
        known = await find_person(c, member.id_number)
        if known is not None and await FamilyMember.exists(
            owner_id=holder.person_id,  # type: ignore[attr-defined]
            member_id=known.id,
        ):
            continue
        await family.add_member(
            c,
            _principal(holder),
            relation=relation,
            name=member.name,
            id_number=member.id_number,
        )


async def _consent_forms(c: Container, staff: dict[str, Account]) -> None:
    for clerk_name, form_number, grantor, grantee in CONSENT_FORMS:
        clerk = staff[clerk_name]
        if await StationAuthorisation.exists(
            station_id=clerk.station_id,  # type: ignore[attr-defined]
            form_number=form_number,
        ):
            continue
        await assisted.record_authorisation(
            c,
            _principal(clerk),
            grantor_name=grantor.name,
            grantor_id_number=grantor.id_number,
            grantee_name=grantee.name,
            grantee_id_number=grantee.id_number,
            purpose=assisted.AuthorisationPurpose.FAMILY_CONSENT,
            form_number=form_number,
            note="演示数据：本人到服务点签署同意书",
        )


_STATUS_ZH = {"not_required": "未成年，无需同意", "pending": "待本人同意", "granted": "已同意"}
_RELATION_ZH = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandparent": "祖父母/外祖父母",
    "grandchild": "孙子女/外孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
}


async def _report(c: Container, stations: dict[str, Station], citizens: dict[str, Account]) -> str:
    lines = [
        "=== 演示数据 / Demo data ===",
        "",
        "服务站 / Stations:",
    ]
    for code, _name, level, _parent, _items in STATIONS:
        s = stations[code]
        indent = {"district": "  ", "town": "    ", "village": "      "}[level.value]
        items = "、".join(SERVICE_ITEMS[i] for i in s.delegated_items or [])
        lines.append(f"{indent}{s.name} [{s.code}, id={s.id}]：{items}")
    lines += [
        "",
        f"工作人员 / Staff (POST /api/v1/auth/staff/login，密码 password: {DEMO_PASSWORD}):",
    ]
    for username, display, role, station_code, categories in STAFF:
        where = stations[station_code].name if station_code else ""
        cats = "、".join(REVIEW_CATEGORIES[x] for x in categories)
        extra = "；".join(x for x in (where, cats) if x)
        lines.append(
            f"  {username:<18} {role.value:<14} {display}" + (f"（{extra}）" if extra else "")
        )
    lines += [
        "",
        '公众用户 / Citizens (模拟器 simulator: POST /api/v1/dev/login-code {"user": "<user>"}，',
        '  再 then POST /api/v1/auth/citizen/login {"code": "<code>"}):',
    ]
    for user, who in CITIZENS:
        account = citizens[user]
        person = await Person.get(id=account.person_id)  # type: ignore[attr-defined]
        lines.append(f"  {user:<10} {who.name}  {masked_id_number(c, person)}")
        links = (
            await FamilyMember.filter(owner_id=person.id).order_by("id").prefetch_related("member")
        )
        for link in links:
            status = family.effective_status(c, link, link.member).value
            lines.append(
                f"      家庭成员 {link.member.name}（{_RELATION_ZH[link.relation]}）："
                f"{_STATUS_ZH[status]}"
            )
        requests = await FamilyMember.filter(member_id=person.id).prefetch_related("owner")
        for link in requests:
            status = family.effective_status(c, link, person).value
            lines.append(f"      收到 {link.owner.name} 的家庭成员请求：{_STATUS_ZH[status]}")
    lines += [
        "  任意其他用户名 / any other user name: 新的未实名账户",
        "  (a new account without real-name binding)",
        "",
    ]
    return "\n".join(lines)


async def seed_demo(c: Container) -> str:
    """Load the demo data when missing; return the printable list of demo logins."""
    stations = await _stations(c)
    staff = await _staff(stations)
    citizens = await _citizens(c)
    await _families(c, citizens)
    await _consent_forms(c, staff)
    return await _report(c, stations, citizens)
