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

import io
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageDraw

from backend.audit import service as audit
from backend.clock import local_today
from backend.container import Container
from backend.enrollment import service as enrollment
from backend.enrollment.models import Enrollment, EnrollmentStatus
from backend.family import service as family
from backend.family.models import FamilyMember, Relation, StationAuthorisation
from backend.identity.idcard import check_character
from backend.identity.idp import LocalIdentityProvider
from backend.identity.models import Account, Person, Role
from backend.identity.passwords import hash_password
from backend.identity.persons import find_or_create_person, find_person, masked_id_number
from backend.identity.principal import Principal
from backend.identity.registry import LocalPopulationRegistry
from backend.stations import assisted
from backend.stations.models import Station, StationLevel
from backend.stations.service import SERVICE_ITEMS, create_station
from backend.terminals.models import Terminal
from backend.terminals.service import SECRET_FIELD, register_terminal
from workflows.vocabulary import (
    CAT_CHRONIC,
    CAT_ENROLLMENT,
    CAT_REIMBURSEMENT,
    CAT_REMOTE_CARE,
    CATEGORIES,
    FRONT_DESK,
)

DEMO_PASSWORD = "Demo@2025"
REGION = "330106"

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

# (username, display name, role, station code, reviewer categories). The front desk (综合受理)
# of the district centre accepts what citizens submit from the app; a station's clerks accept
# what is filed at their station. Every review category has a reviewer, and a second one where
# a definition needs two levels (双人复核).
STAFF: list[tuple[str, str, Role, str | None, list[str]]] = [
    ("frontdesk", "区医保服务中心综合受理窗口·何丽", Role.REVIEWER, None, [FRONT_DESK]),
    ("clerk_dongcheng", "东城街道窗口·周敏", Role.STATION_STAFF, "XQ01", []),
    ("clerk_cuiyuan", "翠苑社区帮办员·吴磊", Role.STATION_STAFF, "XQ01-01", []),
    ("clerk_nanshan", "南山镇窗口·郑洁", Role.STATION_STAFF, "XQ02", []),
    ("clerk_nanshancun", "南山村帮办员·孙涛", Role.STATION_STAFF, "XQ02-01", []),
    ("reviewer_info", "审核员·参保信息变更", Role.REVIEWER, None, [CAT_ENROLLMENT]),
    ("reviewer_enroll", "复核员·参保登记与变更", Role.REVIEWER, None, [CAT_ENROLLMENT]),
    ("reviewer_remote", "审核员·异地就医", Role.REVIEWER, None, [CAT_REMOTE_CARE]),
    ("reviewer_chronic", "审核员·门诊慢特病", Role.REVIEWER, None, [CAT_CHRONIC]),
    ("reviewer_claims", "审核员·零星报销", Role.REVIEWER, None, [CAT_REIMBURSEMENT]),
    ("reviewer_claims2", "复核员·零星报销", Role.REVIEWER, None, [CAT_REIMBURSEMENT]),
    ("finance", "财务科·报销汇款", Role.FINANCE, None, []),
    ("supervisor", "科长·业务监督", Role.SUPERVISOR, None, list(CATEGORIES)),
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

# Everybody is insured this year (paid at a station in the collection period). Next year, when
# its collection period is open, all but 张伟's family have paid: the walkthrough pays for them.
ALL_PERSONS = (ZHANG_WEI, LI_NA, ZHANG_XIAOYU, ZHANG_JIANGUO, WANG_FANG, LIU_QIANG, LIU_ZIHAN,
               CHEN_JING)  # fmt: skip
UNPAID_NEXT_YEAR = (ZHANG_WEI, LI_NA, ZHANG_XIAOYU, ZHANG_JIANGUO)

# (clerk, form number, grantor = consenting member, grantee = account holder)
CONSENT_FORMS: list[tuple[str, str, DemoPerson, DemoPerson]] = [
    ("clerk_cuiyuan", "SQ-2025-0001", ZHANG_JIANGUO, ZHANG_WEI),
]


def _principal(account: Account) -> Principal:
    return Principal(
        account_id=account.id,
        role=account.role,
        session="demo-seed",
        station_id=account.station_id,
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


def _households(c: Container) -> None:
    """The demo children's households in the local population registry: their parents are
    their guardians on record, so adding them as children is proven (guardianship)."""
    registry = c.population_registry
    if not isinstance(registry, LocalPopulationRegistry):
        return
    parents = dict(CITIZENS)
    for user, member, relation in FAMILY:
        if relation is Relation.CHILD:
            registry.record(member.id_number, [parents[user].id_number])


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


def _scanned_form(form_number: str) -> bytes:
    """A stand-in for the scan of a signed paper form: a page with ruled lines."""
    page = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(page)
    for y in range(120, 1000, 60):
        draw.line((80, y, 720, y), fill=160, width=2)
    draw.text((80, 60), f"SQ {form_number}", fill=0)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


async def _consent_forms(c: Container, staff: dict[str, Account]) -> None:
    for clerk_name, form_number, grantor, grantee in CONSENT_FORMS:
        clerk = staff[clerk_name]
        if await StationAuthorisation.exists(
            station_id=clerk.station_id,
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
            grantor_id_card_checked=True,
            signed_form=_scanned_form(form_number),
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


DEMO_TERMINAL = ("P33010600001", "西湖区惠民大药房（演示终端）", "330100")


async def _terminal(c: Container) -> tuple[str, str]:
    """The demo pharmacy terminal: (key id, secret). A demo may show its secret; a real
    terminal's is shown once, by `yibao terminal add`."""
    code, name, city = DEMO_TERMINAL
    row = await Terminal.get_or_none(institution_code=code)
    if row is None:
        issued = await register_terminal(
            c, institution_code=code, institution_name=name, city_code=city
        )
        return issued.identity.key_id, issued.secret
    return row.key_id, c.pii.decrypt(row.secret_enc, SECRET_FIELD)


def enrollment_years(c: Container) -> tuple[int, int | None]:
    """This year, and next year when its collection period is open today (else None)."""
    today = local_today(c.clock)
    try:
        policy = enrollment.premium_for(c, today.year + 1)
    except enrollment.PremiumNotPublished:
        return today.year, None
    is_open = policy.collection_start <= today <= policy.collection_end
    return today.year, (today.year + 1 if is_open else None)


async def _enrol(c: Container, who: DemoPerson, year: int) -> None:
    """Record a premium paid in cash at a station (the demo's history), once."""
    person = await find_person(c, who.id_number)
    if person is None or await enrollment.is_enrolled(person.id, year):
        return
    quote = await enrollment.quote(c, person, year)
    now = c.clock.now()
    (row,) = await enrollment.ensure_rows([person.id], year)
    await Enrollment.filter(id=row.id).update(
        status=EnrollmentStatus.ENROLLED,
        contribution_fen=quote.contribution_fen,
        subsidy_category=quote.category,
        subsidy_fen=quote.subsidy_fen,
        due_fen=quote.due_fen,
        channel="station",
        enrolled_at=now,
        updated_at=now,
        version=row.version + 1,
    )
    await audit.record(
        c,
        actor=None,
        actor_role="system",
        action="enrollment.enroll.demo",
        subject_type="person",
        subject_id=person.id,
        data={"year": year},
    )


async def _enrollments(c: Container) -> None:
    this_year, next_year = enrollment_years(c)
    for who in ALL_PERSONS:
        await _enrol(c, who, this_year)
        if next_year is not None and who not in UNPAID_NEXT_YEAR:
            await _enrol(c, who, next_year)


def _walkthrough(c: Container, terminal: tuple[str, str]) -> list[str]:
    """A short tour of the seven journeys with the demo's logins and ID numbers."""
    this_year, next_year = enrollment_years(c)
    pay_year = next_year or this_year
    return [
        "演示流程 / Walkthrough（接口文档 /docs）:",
        "  1. 参保缴费：zhangwei 登录，POST /api/v1/payments/orders"
        f" 为本人及子女缴纳 {pay_year} 年度保费，模拟器回调后参保生效；",
        "     POST /api/v1/me/vouchers 取得医保电子凭证，终端 POST /api/v1/terminal/vouchers/verify"
        f"（演示药店终端 key id: {terminal[0]}  secret: {terminal[1]}，签名方法见 README）"
        f" 核验（{this_year} 年度全员已参保）。",
        "  2. 异地就医备案：zhangwei 在掌上办提交 POST /api/v1/me/remote-care-filings"
        "（先 POST /api/v1/case-materials 上传证明材料）；"
        "符合规则的即受即办，",
        "     转诊备案由 frontdesk 综合受理、reviewer_remote 审核；服务站代办："
        f"clerk_dongcheng 为 张建国（{ZHANG_JIANGUO.id_number}）办理。",
        "  3. 门诊慢特病：frontdesk 受理，快速通道病种当场认定，"
        "其他病种由 reviewer_chronic 逐项评审。",
        "  4. 参保信息变更：手机号即时办结；"
        "银行账户变更由 reviewer_info 初审、reviewer_enroll 复审。",
        "  5. 零星报销：上传票据照片，frontdesk 受理，reviewer_claims 确认识别结果并审核"
        "（5000元以上 reviewer_claims2 复审），",
        "     finance 登记汇款。服务站代办：clerk_dongcheng 为 王芳"
        f"（{WANG_FANG.id_number}）办理，须申请人授权。",
        "  6. supervisor 查看办件统计：GET /api/v1/admin/case-stats。",
        "  演示身份证号均为虚构：" + "、".join(f"{p.name} {p.id_number}" for p in ALL_PERSONS),
        "",
    ]


async def _report(
    c: Container,
    stations: dict[str, Station],
    citizens: dict[str, Account],
    terminal: tuple[str, str],
) -> str:
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
        cats = "、".join(CATEGORIES[x] for x in categories)
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
        *_walkthrough(c, terminal),
    ]
    return "\n".join(lines)


class DemoRefusedInProduction(Exception):
    """The demo creates staff with a published password: never in production."""


async def seed_demo(c: Container) -> str:
    """Load the demo data when missing; return the printable list of demo logins.
    Refused in production, before anything is written."""
    if c.settings.production:
        raise DemoRefusedInProduction("生产环境不能加载演示数据（演示账户的密码是公开的）")
    stations = await _stations(c)
    staff = await _staff(stations)
    citizens = await _citizens(c)
    _households(c)
    await _families(c, citizens)
    await _consent_forms(c, staff)
    await _enrollments(c)
    terminal = await _terminal(c)
    return await _report(c, stations, citizens, terminal)
