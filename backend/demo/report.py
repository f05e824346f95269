"""What ``yibao seed-demo`` prints: the stations, the staff logins, the citizens with their
family links, and a walkthrough of the journeys."""

from __future__ import annotations

from backend.container import Container
from backend.demo.cast import (
    ALL_PERSONS,
    CITIZENS,
    DEMO_PASSWORD,
    STAFF,
    STATIONS,
    WANG_FANG,
    ZHANG_JIANGUO,
    enrollment_years,
)
from backend.family import service as family
from backend.family.models import FamilyMember
from backend.identity.models import Account, Person
from backend.identity.persons import masked_id_number
from backend.stations.models import Station
from backend.stations.service import SERVICE_ITEMS
from workflows.vocabulary import CATEGORIES

STATUS_ZH = {"not_required": "未成年，无需同意", "pending": "待本人同意", "granted": "已同意"}
RELATION_ZH = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandparent": "祖父母/外祖父母",
    "grandchild": "孙子女/外孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
}


def walkthrough(c: Container, terminal: tuple[str, str]) -> list[str]:
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


async def report(
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
                f"      家庭成员 {link.member.name}（{RELATION_ZH[link.relation]}）："
                f"{STATUS_ZH[status]}"
            )
        requests = await FamilyMember.filter(member_id=person.id).prefetch_related("owner")
        for link in requests:
            status = family.effective_status(c, link, person).value
            lines.append(f"      收到 {link.owner.name} 的家庭成员请求：{STATUS_ZH[status]}")
    lines += [
        "  任意其他用户名 / any other user name: 新的未实名账户",
        "  (a new account without real-name binding)",
        "",
        *walkthrough(c, terminal),
    ]
    return "\n".join(lines)
