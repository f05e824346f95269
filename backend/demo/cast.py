"""Who and what the demo holds: its stations, staff, citizens and their families, the consent
form a station recorded, the pharmacy terminal and the years everybody is enrolled for.

All names and ID numbers are fictitious; the ID numbers are merely well-formed (GB 11643).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.clock import local_today
from backend.container import Container
from backend.enrollment import service as enrollment
from backend.family.models import Relation
from backend.identity.idcard import check_character
from backend.identity.models import Role
from backend.stations.models import StationLevel
from backend.stations.service import SERVICE_ITEMS
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
ALL_PERSONS = (
    ZHANG_WEI,
    LI_NA,
    ZHANG_XIAOYU,
    ZHANG_JIANGUO,
    WANG_FANG,
    LIU_QIANG,
    LIU_ZIHAN,
    CHEN_JING,
)
UNPAID_NEXT_YEAR = (ZHANG_WEI, LI_NA, ZHANG_XIAOYU, ZHANG_JIANGUO)

# (clerk, form number, grantor = consenting member, grantee = account holder)
CONSENT_FORMS: list[tuple[str, str, DemoPerson, DemoPerson]] = [
    ("clerk_cuiyuan", "SQ-2025-0001", ZHANG_JIANGUO, ZHANG_WEI),
]

DEMO_TERMINAL = ("P33010600001", "西湖区惠民大药房（演示终端）", "330100")


def enrollment_years(c: Container) -> tuple[int, int | None]:
    """This year, and next year when its collection period is open today (else None)."""
    today = local_today(c.clock)
    try:
        policy = enrollment.premium_for(c, today.year + 1)
    except enrollment.PremiumNotPublished:
        return today.year, None
    is_open = policy.collection_start <= today <= policy.collection_end
    return today.year, (today.year + 1 if is_open else None)
