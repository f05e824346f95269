"""Synthetic Chinese medical receipts (医疗门诊/住院收费票据) with ground truth.

Outpatient and inpatient, paper and electronic, three layouts with different label wordings,
several provinces and several CJK fonts (found in the standard font directories). Field values
are realistic and consistent: items sum to the total, payments add up, the capital amount is
the total. Electronic receipts carry a QR code and a supervision seal; every receipt has the
hospital's red seal, usually over the 收款单位 line.

"photo" images are then degraded like phone photos: placed on a table, perspective, small
skew and sometimes a 90/180/270° turn (pixels or an EXIF tag), shadows, blur, noise, JPEG.

    python bench/ocr_synth.py OUT_DIR [--count 48] [--seed 7] [--photo-share 0.67]

writes ``NNN.jpg|png`` and ``NNN.json`` (ground truth) per receipt. Deterministic per seed.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.checks import amount_to_upper

# --------------------------------------------------------------------------- fonts

# (file name, preferred face name fragment) — looked up in the standard font directories.
# Styles: Hei (sans), Song/Ming (serif), Kai (brush), Fangsong — the four of Chinese forms.
FONT_CANDIDATES: list[tuple[str, str]] = [
    ("NotoSansCJK-Regular.ttc", "CJK SC"),
    ("NotoSerifCJK-Regular.ttc", "CJK SC"),
    ("FandolFang-Regular.otf", "FandolFang"),
    ("ukai.ttc", "UKai CN"),
    ("wqy-microhei.ttc", "Micro Hei"),
    ("gbsn00lp.ttf", "SungtiL GB"),
    ("FandolKai-Regular.otf", "FandolKai"),
    ("wqy-zenhei.ttc", "Zen Hei"),
    ("FandolSong-Regular.otf", "FandolSong"),
    ("uming.ttc", "UMing CN"),
    ("gkai00mp.ttf", "KaitiM GB"),
    ("FandolHei-Regular.otf", "FandolHei"),
    ("LXGWWenKai-Regular.ttf", "WenKai"),
    ("NotoSansSC-Regular.otf", "SC"),
    ("NotoSerifSC-Regular.otf", "SC"),
    ("SourceHanSansSC-Regular.otf", "SC"),
    ("simsun.ttc", "SimSun"),
    ("simhei.ttf", "SimHei"),
    ("msyh.ttc", "Microsoft YaHei"),
    ("Songti.ttc", "SC"),
    ("PingFang.ttc", "SC"),
]


def font_dirs() -> list[Path]:
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path("/Library/Fonts")]
    dirs.append(Path("/System/Library/Fonts"))
    # TeX Live's Fandol fonts (the only free simplified-Chinese Fangsong in Debian)
    dirs.append(Path("/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol"))
    home = Path.home()
    dirs += [home / ".fonts", home / ".local/share/fonts", home / "Library/Fonts"]
    xdg = os.environ.get("XDG_DATA_DIRS")
    if xdg:
        dirs += [Path(d) / "fonts" for d in xdg.split(":") if d]
    windir = os.environ.get("WINDIR")
    if windir:
        dirs.append(Path(windir) / "Fonts")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int
    name: str

    @property
    def style(self) -> str:
        n = self.name.lower()
        for key, style in (
            ("fang", "fangsong"),
            ("kai", "kai"),
            ("serif", "song"),
            ("sung", "song"),
            ("song", "song"),
            ("ming", "song"),
        ):
            if key in n:
                return style
        return "hei"


_FONT_CACHE: list[FontSpec] | None = None


def find_cjk_fonts() -> list[FontSpec]:
    """CJK fonts available on this machine, in a stable order."""
    global _FONT_CACHE
    if _FONT_CACHE is not None:
        return _FONT_CACHE
    wanted = {name.lower(): frag for name, frag in FONT_CANDIDATES}
    found: dict[str, FontSpec] = {}
    for d in font_dirs():
        for p in sorted(d.rglob("*")):
            key = p.name.lower()
            if key not in wanted or key in found:
                continue
            frag = wanted[key]
            for index in range(12):
                try:
                    f = ImageFont.truetype(str(p), 20, index=index)
                except OSError:
                    break
                family = " ".join(n for n in f.getname() if n)
                if frag.lower() in family.lower():
                    found[key] = FontSpec(str(p), index, family)
                    break
    order = [name.lower() for name, _ in FONT_CANDIDATES]
    _FONT_CACHE = [found[k] for k in order if k in found]
    return _FONT_CACHE


class Fonts:
    def __init__(self, spec: FontSpec) -> None:
        self.spec = spec
        self._cache: dict[int, ImageFont.FreeTypeFont] = {}

    def __call__(self, size: int) -> ImageFont.FreeTypeFont:
        if size not in self._cache:
            self._cache[size] = ImageFont.truetype(self.spec.path, size, index=self.spec.index)
        return self._cache[size]


# --------------------------------------------------------------------------- data

PROVINCES: list[tuple[str, str, list[str]]] = [
    ("广东省", "44", ["广州市第一人民医院", "深圳市人民医院", "佛山市中医院"]),
    ("浙江省", "33", ["浙江大学医学院附属第一医院", "杭州市第三人民医院", "宁波市第二医院"]),
    ("江苏省", "32", ["南京鼓楼医院", "苏州市立医院", "无锡市人民医院"]),
    ("四川省", "51", ["四川大学华西医院", "成都市第五人民医院", "绵阳市中心医院"]),
    ("山东省", "37", ["山东省立医院", "青岛市市立医院", "济南市中心医院"]),
    ("湖北省", "42", ["武汉协和医院", "宜昌市中心人民医院", "襄阳市第一人民医院"]),
    ("河南省", "41", ["郑州大学第一附属医院", "洛阳市中心医院", "南阳市第二人民医院"]),
]
CITIES: dict[str, list[str]] = {
    "广东省": ["广州市", "深圳市", "佛山市", "东莞市", "珠海市", "湛江市"],
    "浙江省": ["杭州市", "宁波市", "温州市", "绍兴市", "金华市", "台州市"],
    "江苏省": ["南京市", "苏州市", "无锡市", "常州市", "徐州市", "南通市"],
    "四川省": ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "乐山市"],
    "山东省": ["济南市", "青岛市", "烟台市", "潍坊市", "临沂市", "淄博市"],
    "湖北省": ["武汉市", "宜昌市", "襄阳市", "荆州市", "黄石市", "十堰市"],
    "河南省": ["郑州市", "洛阳市", "南阳市", "开封市", "新乡市", "许昌市"],
}
DISTRICTS = [
    "天河区",
    "西湖区",
    "鼓楼区",
    "武侯区",
    "历下区",
    "江岸区",
    "金水区",
    "高新区",
    "经济技术开发区",
    "城关区",
    "新城区",
    "龙华区",
]
TOWNS = ["石桥镇", "新安镇", "白沙镇", "东山镇", "柳林镇", "大王庄乡"]
UNIVERSITIES = [
    "中山大学",
    "浙江大学",
    "南京医科大学",
    "四川大学",
    "山东大学",
    "华中科技大学",
    "郑州大学",
    "苏州大学",
    "温州医科大学",
    "南方医科大学",
]
ORDINALS = "一二三四五六七八九"
SHORT_HOSPITALS = [
    "协和医院",
    "同仁医院",
    "华山医院",
    "瑞金医院",
    "仁济医院",
    "湘雅医院",
    "西京医院",
    "天坛医院",
]


def hospital_name(rng: random.Random, province: str) -> str:
    """A hospital name of 4 to 20 characters in one of the shapes real invoices print."""
    city = rng.choice(CITIES[province])
    district = rng.choice(DISTRICTS)
    n = rng.choice(ORDINALS)
    shapes = [
        lambda: rng.choice(SHORT_HOSPITALS),
        lambda: f"{city}人民医院",
        lambda: f"{city}中医院",
        lambda: f"{city}第{n}人民医院",
        lambda: f"{city}{district}人民医院",
        lambda: f"{city}妇幼保健院",
        lambda: f"{rng.choice(UNIVERSITIES)}附属第{n}医院",
        lambda: f"{rng.choice(UNIVERSITIES)}医学院附属{city}医院",
        lambda: f"{city}{district}社区卫生服务中心",
        lambda: f"{city}{district}{rng.choice(TOWNS)}卫生院",
        lambda: f"{province}{city}{district}中西医结合医院",
        lambda: f"{province}第{n}人民医院",
        lambda: f"{city[:-1]}骨科医院",
    ]
    while True:
        name = rng.choice(shapes)()
        if 4 <= len(name) <= 20:
            return name


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史黎贺顾毛郝龚邵万钱覃武戴孔汤庞"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英文华建国志红玉梅春燕晓东海波"
    "宁凤琴云飞鹏辉玲斌宇浩凯丹萍健俊帆雪琳晨欣怡子涵思远佳慧嘉"
)
INSURANCE_TYPES = ["职工基本医疗保险", "城乡居民基本医疗保险"]
OUTPATIENT_ITEMS = [
    "西药费",
    "中成药费",
    "中草药费",
    "检查费",
    "化验费",
    "治疗费",
    "诊察费",
    "卫生材料费",
    "一般诊疗费",
    "放射费",
]
INPATIENT_ITEMS = [
    "床位费",
    "护理费",
    "手术费",
    "检查费",
    "化验费",
    "西药费",
    "中成药费",
    "治疗费",
    "诊察费",
    "卫生材料费",
    "麻醉费",
    "输血费",
]


def catalogue_items() -> list[tuple[str, str]]:
    """(code, name) of the insurance catalogue's items whose names fit an item cell: what a
    receipt that itemises by national code prints (``config/policy/catalogue.yaml``)."""
    from config.policy import load_policies

    items = load_policies().catalogue.at(date(2025, 1, 1)).items.values()
    return sorted(
        (i.code, i.name)
        for i in items
        if 2 <= len(i.name) <= 10 and all("\u4e00" <= c <= "\u9fff" for c in i.name)
    )


DEPARTMENTS = ["内科", "外科", "骨科", "儿科", "妇产科", "心内科", "消化内科", "神经内科"]
INSTITUTION_TYPES = ["综合医院", "中医医院", "专科医院"]


def _money(rng: random.Random, lo: int, hi: int) -> Decimal:
    return Decimal(rng.randint(lo * 100, hi * 100)) / 100


@dataclass
class Receipt:
    visit_type: str  # outpatient | inpatient
    electronic: bool
    province: str
    province_code: str
    hospital_name: str
    payer_name: str
    insurance_type: str
    invoice_code: str
    invoice_number: str
    check_code: str | None
    issue_date: date
    items: list[tuple[str, Decimal, int]]
    fund_paid: Decimal
    other_paid: Decimal
    personal_account_paid: Decimal
    personal_cash_paid: Decimal
    self_pay: Decimal
    self_expense: Decimal
    serial: str
    visit_no: str
    department: str
    admit: date
    discharge: date
    institution_type: str
    gender: str
    insurance_no: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum((a for _, a, _ in self.items), Decimal("0.00"))

    def money(self, v: Decimal) -> str:
        """An amount as this receipt prints it (``1,234.50`` when it groups thousands)."""
        return f"{v:,.2f}" if self.extra.get("grouped") else f"{v:.2f}"

    def payments(
        self, fund_label: str = "医保统筹基金支付", other_label: str = "其他支付"
    ) -> list[tuple[str, Decimal]]:
        """The printed payment split, labels as the layout words them."""
        return [
            (fund_label, self.fund_paid),
            (other_label, self.other_paid),
            ("个人账户支付", self.personal_account_paid),
            ("个人现金支付", self.personal_cash_paid),
            ("个人自付", self.self_pay),
            ("个人自费", self.self_expense),
        ]

    def ground_truth(self) -> dict[str, Any]:
        gt: dict[str, Any] = {
            "invoice_code": self.invoice_code,
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat(),
            "payer_name": self.payer_name,
            "hospital_name": self.hospital_name,
            "insurance_type": self.insurance_type,
            "visit_type": self.visit_type,
            "total_amount": f"{self.total:.2f}",
            "total_amount_upper": amount_to_upper(self.total),
            "fund_paid": f"{self.fund_paid:.2f}",
            "other_paid": f"{self.other_paid:.2f}",
            "personal_account_paid": f"{self.personal_account_paid:.2f}",
            "personal_cash_paid": f"{self.personal_cash_paid:.2f}",
            "self_pay": f"{self.self_pay:.2f}",
            "self_expense": f"{self.self_expense:.2f}",
            "items": [{"name": n, "amount": f"{a:.2f}"} for n, a, _ in self.items],
        }
        for item, code in zip(gt["items"], self.extra.get("codes", ()), strict=False):
            item["code"] = code
        if self.check_code:
            gt["check_code"] = self.check_code
        return gt


def itemise_by_code(r: Receipt, rng: random.Random) -> None:
    """Catalogue items with their national codes instead of fee categories (same amounts)."""
    coded = rng.sample(catalogue_items(), len(r.items))
    r.items = [(name, a, q) for (_, name), (_, a, q) in zip(coded, r.items, strict=True)]
    r.extra["codes"] = [code for code, _ in coded]


def make_receipt(
    rng: random.Random,
    *,
    visit_type: str,
    electronic: bool,
    variety: random.Random | None = None,
) -> Receipt:
    """One receipt's values. ``variety`` (a separate stream, so the other values of a seed stay
    as they were) draws the hospital name shape and the amount style (thousands separators)."""
    province, pcode, hospitals = rng.choice(PROVINCES)
    hospital = rng.choice(hospitals)
    extra: dict[str, Any] = {"grouped": False}
    if variety is not None:
        hospital = hospital_name(variety, province)
        extra["grouped"] = variety.random() < 0.5
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    insured = rng.random() < 0.85
    insurance = rng.choice(INSURANCE_TYPES) if insured else "自费"
    issue = date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))
    if visit_type == "outpatient":
        names = rng.sample(OUTPATIENT_ITEMS, rng.randint(2, 6))
        items = [(n, _money(rng, 3, 600), rng.randint(1, 3)) for n in names]
        admit = discharge = issue
    else:
        names = rng.sample(INPATIENT_ITEMS, rng.randint(4, 8))
        items = [(n, _money(rng, 40, 6000), rng.randint(1, 9)) for n in names]
        discharge = issue - timedelta(days=rng.randint(0, 2))
        admit = discharge - timedelta(days=rng.randint(2, 20))
    total = sum((a for _, a, _ in items), Decimal("0.00"))
    if insured:
        ratio = Decimal(rng.randint(30, 75)) / 100
        fund = (total * ratio).quantize(Decimal("0.01"))
        other = _money(rng, 0, 50) if rng.random() < 0.3 else Decimal("0.00")
        other = min(other, total - fund)
        account = (
            min(_money(rng, 0, 300), total - fund - other)
            if rng.random() < 0.6
            else Decimal("0.00")
        )
    else:
        fund = other = account = Decimal("0.00")
    cash = total - fund - other - account
    personal = account + cash
    self_expense = min(
        (personal * Decimal(rng.randint(0, 40)) / 100).quantize(Decimal("0.01")), personal
    )
    self_pay = min(
        (personal * Decimal(rng.randint(0, 50)) / 100).quantize(Decimal("0.01")),
        personal - self_expense,
    )
    year2 = f"{issue.year % 100:02d}"
    return Receipt(
        visit_type=visit_type,
        electronic=electronic,
        province=province,
        province_code=pcode,
        hospital_name=hospital,
        payer_name=name,
        insurance_type=insurance,
        invoice_code=f"{pcode}{rng.choice(['01', '06', '60'])}{year2}{rng.randint(10, 99)}",
        invoice_number=f"{rng.randint(0, 99_999_999):010d}",
        check_code="".join(rng.choice("0123456789abcdef") for _ in range(6))
        if electronic
        else None,
        issue_date=issue,
        items=items,
        fund_paid=fund,
        other_paid=other,
        personal_account_paid=account,
        personal_cash_paid=cash,
        self_pay=self_pay,
        self_expense=self_expense,
        serial=f"{rng.randint(10**11, 10**12 - 1)}",
        visit_no=f"{rng.randint(10**7, 10**8 - 1)}",
        department=rng.choice(DEPARTMENTS),
        admit=admit,
        discharge=discharge,
        institution_type=rng.choice(INSTITUTION_TYPES),
        gender=rng.choice("男女"),
        insurance_no=f"{pcode}{rng.randint(10**13, 10**14 - 1)}",
        extra=extra,
    )


def qr_payload(r: Receipt, style: int) -> str:
    """Two payload styles (unconfirmed on real samples, see ocr/qr.py)."""
    if style == 0:
        return ",".join(
            [
                "01",
                "MED",
                r.invoice_code,
                r.invoice_number,
                r.check_code or "",
                f"{r.total:.2f}",
                r.issue_date.strftime("%Y%m%d"),
            ]
        )
    return (
        "https://pjcy.example.gov.cn/verify?billCode="
        + r.invoice_code
        + "&billNo="
        + r.invoice_number
        + "&random="
        + (r.check_code or "")
        + "&total="
        + f"{r.total:.2f}"
        + "&date="
        + r.issue_date.strftime("%Y%m%d")
    )


# --------------------------------------------------------------------------- drawing

INK = (20, 20, 20)
FORM_INKS = [(20, 20, 20), (30, 45, 110), (60, 40, 30)]
SEAL_RED = (215, 35, 40)


class Canvas:
    def __init__(self, w: int, h: int, fonts: Fonts, form_ink: tuple[int, int, int]) -> None:
        self.img = Image.new("RGB", (w, h), (252, 251, 247))
        self.d = ImageDraw.Draw(self.img)
        self.fonts = fonts
        self.form_ink = form_ink

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: int,
        *,
        ink: tuple[int, int, int] = INK,
        anchor: str = "la",
    ) -> tuple[float, float, float, float]:
        self.d.text((x, y), s, font=self.fonts(size), fill=ink, anchor=anchor)
        return self.d.textbbox((x, y), s, font=self.fonts(size), anchor=anchor)

    def label_value(self, x: float, y: float, label: str, value: str, size: int) -> float:
        """``label：value`` with the label in form ink; returns the right edge."""
        b = self.text(x, y, label + "：", size, ink=self.form_ink)
        b2 = self.text(b[2] + 4, y, value, size)
        return b2[2]

    def rule(self, x0: float, y0: float, x1: float, y1: float, width: int = 2) -> None:
        self.d.line([(x0, y0), (x1, y1)], fill=self.form_ink, width=width)


def draw_seal(
    img: Image.Image,
    cx: float,
    cy: float,
    r: float,
    text: str,
    bottom: str,
    fonts: Fonts,
    rng: random.Random,
    oval: bool = False,
) -> None:
    """A red round (or oval) seal with curved text and a star, alpha-blended."""
    size = int(r * 2 + 20)
    layer = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(layer)
    c = size / 2
    rx, ry = (r, r * 0.68) if oval else (r, r)
    w = max(3, int(r / 16))
    d.ellipse([c - rx, c - ry, c + rx, c + ry], outline=255, width=w)
    if not oval:
        star = []
        for k in range(10):
            rr = r * (0.26 if k % 2 == 0 else 0.11)
            a = -math.pi / 2 + k * math.pi / 5
            star.append((c + rr * math.cos(a), c + rr * math.sin(a)))
        d.polygon(star, fill=255)
    fsize = int(r * (0.22 if len(text) < 12 else 0.18))
    span = math.radians(min(250, 22 * len(text)))
    for k, ch in enumerate(text):
        a = -math.pi / 2 - span / 2 + span * (k + 0.5) / len(text)
        glyph = Image.new("L", (fsize * 2, fsize * 2), 0)
        ImageDraw.Draw(glyph).text((fsize, fsize), ch, font=fonts(fsize), fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        px = c + (rx - w - fsize * 0.75) * math.cos(a)
        py = c + (ry - w - fsize * 0.75) * math.sin(a)
        layer.paste(255, (int(px - fsize), int(py - fsize)), glyph)
    if bottom:
        d.text(
            (c, c + (ry * 0.5 if not oval else ry * 0.15)),
            bottom,
            font=fonts(int(fsize * 0.95)),
            fill=255,
            anchor="mm",
        )
    layer = layer.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC)
    alpha = np.asarray(layer, dtype=np.float32) / 255.0 * rng.uniform(0.6, 0.85)
    # uneven ink
    alpha *= np.clip(
        1 - 0.35 * np.random.default_rng(rng.randint(0, 10**6)).random(alpha.shape), 0, 1
    )
    x0, y0 = int(cx - size / 2), int(cy - size / 2)
    region = img.crop((x0, y0, x0 + size, y0 + size))
    arr = np.asarray(region, dtype=np.float32)
    red = np.array(SEAL_RED, dtype=np.float32)
    # multiply-like blend: ink darkens the paper but keeps dark text dark
    blended = arr * (1 - alpha[..., None]) + np.minimum(arr, red) * alpha[..., None]
    img.paste(Image.fromarray(blended.astype(np.uint8)), (x0, y0))


def make_qr(payload: str, px: int) -> Image.Image:
    """A QR code about ``px`` wide, at least 4 pixels per module (as printed on receipts)."""
    import qrcode

    qr = qrcode.QRCode(border=2, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    q = qr.make_image(fill_color="black", back_color="white").convert("RGB")
    side = q.size[0] * max(4, px // q.size[0])
    return q.resize((side, side), Image.Resampling.NEAREST)


def table_style(cv: Canvas, rng: random.Random, y: float, rows: int, pitch: float) -> None:
    """Item rows plain, ruled between rows, or shaded every other row (drawn under the text)."""
    style = rng.choice(("plain", "ruled", "zebra"))
    w = cv.img.size[0]
    for k in range(rows):
        top = y - 8 + k * pitch
        if style == "zebra" and k % 2 == 1:
            cv.d.rectangle([40, top, w - 40, top + pitch], fill=(234, 236, 240))
        elif style == "ruled":
            cv.d.line([(40, top + pitch), (w - 40, top + pitch)], fill=cv.form_ink, width=1)


def seal_spot(
    rng: random.Random, usual: tuple[float, float], w: float, bottom: float
) -> tuple[float, float]:
    """Where the hospital's seal lands: usually over the payee line, sometimes elsewhere
    (never over the red-printed number of a paper form: red on red is lost to anyone)."""
    spots = [usual, usual, (w - 260, bottom - 40), (w * 0.6, 260), (w / 2, bottom - 120)]
    return rng.choice(spots)


def _fmt_date(d: date, style: int) -> str:
    if style == 0:
        return d.isoformat()
    if style == 1:
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    return d.strftime("%Y/%m/%d")


def render_electronic(r: Receipt, fonts: Fonts, rng: random.Random) -> Image.Image:
    """National 财政电子票据 layout: two item blocks with quantity columns, QR top-left."""
    qr_img = make_qr(qr_payload(r, rng.randint(0, 1)), 165)
    y = max(200, 22 + qr_img.size[1] + 18)
    W, H = 1500, (1000 if r.visit_type == "inpatient" else 940) + y - 200
    cv = Canvas(W, H, fonts, rng.choice(FORM_INKS[:2]))
    s = rng.choice((22, 23, 24))
    kind = "门诊" if r.visit_type == "outpatient" else "住院"
    cv.text(
        W / 2, 50, f"{r.province}医疗{kind}收费票据（电子）", 38, ink=(150, 30, 30), anchor="ma"
    )
    cv.img.paste(qr_img, (60, 22))
    cells = [
        ("票据代码", r.invoice_code),
        ("票据号码", r.invoice_number),
        ("校验码", r.check_code or ""),
        ("交款人", r.payer_name),
        ("开票日期", _fmt_date(r.issue_date, 0)),
        ("性别", r.gender),
        ("业务流水号", r.serial),
    ]
    if r.visit_type == "outpatient":
        cells += [("门诊号", r.visit_no), ("就诊日期", _fmt_date(r.issue_date, 0))]
    else:
        cells += [("住院号", r.visit_no), ("住院科别", r.department)]
    if rng.random() < 0.5:  # field order varies between issuing systems
        rng.shuffle(cells)
    for k, (label, value) in enumerate(cells):
        cv.label_value((60, 560, 1060)[k % 3], y + (k // 3) * 48, label, value, s)
    y += 3 * 48
    cv.label_value(60, y, "医疗机构类型", r.institution_type, s)
    cv.label_value(560, y, rng.choice(["医保类型", "医保类型"]), r.insurance_type, s)
    if r.visit_type == "inpatient":
        y += 48
        cv.label_value(60, y, "住院时间", f"{r.admit:%Y%m%d}-{r.discharge:%Y%m%d}", s)
    y += 60
    cv.rule(40, y, W - 40, y)
    y += 14
    cols = [(60, 330, 470), (790, 1060, 1200)]  # name, qty, amount columns for two blocks
    for nx, qx, ax in cols:
        cv.text(nx, y, "项目名称", s, ink=cv.form_ink)
        cv.text(qx, y, "数量", s, ink=cv.form_ink)
        cv.text(ax, y, "金额（元）", s, ink=cv.form_ink)
    y += 48
    rows = math.ceil(len(r.items) / 2)
    table_style(cv, rng, y, rows, 44)
    for k, (name, amount, qty) in enumerate(r.items):
        col = cols[k // rows] if rows else cols[0]
        yy = y + (k % rows) * 44
        cv.text(col[0], yy, name, s)
        cv.text(col[1] + 10, yy, str(qty), s)
        cv.text(col[2] + 10, yy, r.money(amount), s)
    y += rows * 44 + 16
    cv.rule(40, y, W - 40, y)
    y += 18
    right = cv.label_value(60, y, "合计（大写）", amount_to_upper(r.total), s)
    cv.label_value(max(right + 60, 900), y, "（小写）", r.money(r.total), s)
    y += 56
    pay = r.payments()
    for k, (label, v) in enumerate(pay):
        cv.label_value(60 + (k % 3) * 480, y + (k // 3) * 48, label, r.money(v), s)
    y += 2 * 48 + 20
    cv.rule(40, y, W - 40, y)
    y += 24
    cv.label_value(60, y, "收款单位（章）", r.hospital_name, s)
    cv.label_value(820, y, "复核人", rng.choice(SURNAMES) + rng.choice(GIVEN), s)
    cv.label_value(1120, y, "收款人", rng.choice(SURNAMES) + rng.choice(GIVEN), s)
    draw_seal(cv.img, W / 2, 60, 62, "财政部监制", "", fonts, rng, oval=True)
    sx, sy = seal_spot(rng, (330 + rng.randint(-40, 60), y + 10), W, y)
    draw_seal(cv.img, sx, sy, 88, r.hospital_name, "财务专用章", fonts, rng)
    return cv.img


def render_paper_grid(r: Receipt, fonts: Fonts, rng: random.Random) -> Image.Image:
    """A provincial paper form: ruled grid, two 项目/金额 blocks, No. number top-right."""
    W, H = 1400, 920 if r.visit_type == "outpatient" else 1000
    cv = Canvas(W, H, fonts, rng.choice(FORM_INKS))
    s = rng.choice((22, 24, 25))
    kind = "门诊" if r.visit_type == "outpatient" else "住院"
    cv.text(W / 2, 40, f"{r.province}医疗{kind}收费票据", 40, ink=cv.form_ink, anchor="ma")
    y = 118
    cv.label_value(60, y, "票据代码", r.invoice_code, s)
    cv.text(980, y, "No", s + 2, ink=(170, 30, 30))
    cv.text(1030, y, r.invoice_number, s + 2, ink=(170, 30, 30))
    y += 52
    top = y
    cv.rule(40, top, W - 40, top)
    y += 14
    payer_label = rng.choice(["交款人", "姓名"])
    row = [
        (payer_label, r.payer_name),
        (rng.choice(["医保类型", "医保类别"]), r.insurance_type),
        ("开票日期", _fmt_date(r.issue_date, 1)),
    ]
    rng.shuffle(row)
    for x, (label, value) in zip((60, 430, 930), row, strict=True):
        cv.label_value(x, y, label, value, s)
    y += 46
    if r.visit_type == "inpatient":
        cv.label_value(60, y, "住院号", r.visit_no, s)
        cv.label_value(430, y, "科别", r.department, s)
        cv.label_value(760, y, "住院日期", f"{r.admit:%Y.%m.%d}至{r.discharge:%Y.%m.%d}", s)
        y += 46
    else:
        cv.label_value(60, y, "门诊号", r.visit_no, s)
        cv.label_value(430, y, "性别", r.gender, s)
        y += 46
    cv.rule(40, y, W - 40, y)
    header_y = y + 12
    blocks = [(60, 440), (740, 1120)]
    for nx, ax in blocks:
        cv.text(nx, header_y, "项目", s, ink=cv.form_ink)
        cv.text(ax, header_y, "金额", s, ink=cv.form_ink)
    y = header_y + 44
    cv.rule(40, y, W - 40, y, 1)
    rows = max(3, math.ceil(len(r.items) / 2))
    for k, (name, amount, _) in enumerate(r.items):
        nx, ax = blocks[k // rows]
        yy = y + 10 + (k % rows) * 42
        cv.text(nx, yy, name, s)
        cv.text(ax, yy, r.money(amount), s)
    y += rows * 42 + 18
    cv.rule(W / 2, header_y - 12, W / 2, y, 1)
    cv.rule(40, y, W - 40, y)
    y += 14
    right = cv.label_value(60, y, "合计人民币（大写）", amount_to_upper(r.total), s)
    cv.text(max(right + 60, 980), y, f"¥{r.money(r.total)}", s)
    y += 48
    cv.rule(40, y, W - 40, y, 1)
    y += 14
    pay = r.payments("统筹基金支付")
    for k, (label, v) in enumerate(pay):
        cv.label_value(60 + (k % 3) * 440, y + (k // 3) * 46, label, r.money(v), s)
    y += 2 * 46 + 4
    cv.rule(40, y, W - 40, y)
    cv.rule(40, top, 40, y)
    cv.rule(W - 40, top, W - 40, y)
    y += 22
    cv.label_value(60, y, rng.choice(["收款单位", "收款单位（章）"]), r.hospital_name, s)
    cv.label_value(900, y, "收款人", rng.choice(SURNAMES) + rng.choice(GIVEN), s)
    sx, sy = seal_spot(rng, (300 + rng.randint(-40, 80), y + 5), W, y)
    draw_seal(cv.img, sx, sy, 85, r.hospital_name, "收费专用章", fonts, rng)
    return cv.img


def render_paper_list(r: Receipt, fonts: Fonts, rng: random.Random) -> Image.Image:
    """Another province: labels above values in boxes, one 收费项目/金额 list, 医疗机构 on top."""
    W = 1300
    n = len(r.items)
    H = 640 + n * 42 + (60 if r.visit_type == "inpatient" else 0)
    cv = Canvas(W, H, fonts, rng.choice(FORM_INKS))
    s = rng.choice((22, 24))
    kind = "门诊" if r.visit_type == "outpatient" else "住院"
    cv.text(W / 2, 36, f"{r.province}医疗{kind}收费票据", 38, ink=cv.form_ink, anchor="ma")
    y = 108
    top = [
        (("医疗机构", r.hospital_name), ("票据号码", r.invoice_number)),
        (("票据代码", r.invoice_code), ("日期", _fmt_date(r.issue_date, 2))),
    ]
    rng.shuffle(top)
    for k, ((l1, v1), (l2, v2)) in enumerate(top):
        cv.label_value(60, y + k * 46, l1, v1, s)
        cv.label_value(820, y + k * 46, l2, v2, s)
    y += 102
    # boxed header cells: label row above value row
    cells = [("姓名", r.payer_name), ("医保类别", r.insurance_type), ("性别", r.gender)]
    if r.visit_type == "inpatient":
        cells.append(("住院号", r.visit_no))
    xs = [40, 300, 760, 900, W - 40] if len(cells) == 4 else [40, 360, 900, W - 40]
    cv.rule(40, y, W - 40, y)
    for k, (label, value) in enumerate(cells):
        cv.text(xs[k] + 18, y + 10, label, s, ink=cv.form_ink)
        cv.text(xs[k] + 18, y + 54, value, s)
        cv.rule(xs[k], y, xs[k], y + 96, 1)
    cv.rule(W - 40, y, W - 40, y + 96, 1)
    cv.rule(40, y + 46, W - 40, y + 46, 1)
    y += 96
    cv.rule(40, y, W - 40, y)
    if r.visit_type == "inpatient":
        y += 12
        cv.label_value(60, y, "住院时间", f"{r.admit:%Y-%m-%d}至{r.discharge:%Y-%m-%d}", s)
        cv.label_value(760, y, "住院科别", r.department, s)
        y += 44
    y += 12
    codes = r.extra.get("codes")
    x_name, x_amount, x_note = (440, 760, 1000) if codes else (80, 560, 860)
    if codes:
        cv.text(80, y, "医保编码", s, ink=cv.form_ink)
    cv.text(x_name, y, "收费项目", s, ink=cv.form_ink)
    cv.text(x_amount, y, "金额", s, ink=cv.form_ink)
    cv.text(x_note, y, "备注", s, ink=cv.form_ink)
    y += 44
    table_style(cv, rng, y, len(r.items), 42)
    for k, (name, amount, _) in enumerate(r.items):
        if codes:
            cv.text(80, y, codes[k], s - 4)
        cv.text(x_name, y, name, s)
        cv.text(x_amount, y, r.money(amount), s)
        y += 42
    cv.rule(40, y + 4, W - 40, y + 4, 1)
    y += 18
    cv.label_value(80, y, "金额合计（大写）", amount_to_upper(r.total), s)
    cv.label_value(860, y, "小写", r.money(r.total), s)
    y += 52
    pay = r.payments("医保统筹支付", "其它支付")
    for k, (label, v) in enumerate(pay):
        cv.label_value(80 + (k % 3) * 410, y + (k // 3) * 46, label, r.money(v), s)
    y += 2 * 46 + 10
    cv.label_value(80, y, "收款人", rng.choice(SURNAMES) + rng.choice(GIVEN), s)
    sx, sy = seal_spot(rng, (330 + rng.randint(-60, 60), 125), W, H - 60)
    draw_seal(cv.img, sx, sy, 82, r.hospital_name, "收费专用章", fonts, rng)
    return cv.img


LAYOUTS = {
    "electronic": render_electronic,
    "paper_grid": render_paper_grid,
    "paper_list": render_paper_list,
}


# --------------------------------------------------------------------------- degradation


def scan(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """A flatbed scan: slight skew, mild noise, high-quality JPEG or PNG."""
    angle = rng.uniform(-1.0, 1.0)
    out = img.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(250, 250, 250)
    )
    arr = np.asarray(out, dtype=np.float32)
    arr += np.random.default_rng(rng.randint(0, 10**6)).normal(0, 2.0, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        out = out.convert("L").convert("RGB")
    return out, {"skew": round(angle, 2)}


def photo(
    img: Image.Image, rng: random.Random, *, rotation: int | None = None, exif: bool | None = None
) -> tuple[Image.Image, dict[str, Any], int]:
    """A phone photo of the receipt lying on a table. Returns (image, info, exif_orientation)."""
    import cv2

    nrng = np.random.default_rng(rng.randint(0, 10**6))
    src = np.asarray(img.convert("RGB"), dtype=np.float32)
    h, w = src.shape[:2]
    scale = rng.uniform(0.75, 0.95)
    out_w = int(rng.choice((1600, 1800, 2000)))
    out_h = int(out_w * rng.uniform(0.72, 0.8))
    pw, ph = w * scale * out_w / 1600 * 0.98, h * scale * out_w / 1600 * 0.98
    pw, ph = min(pw, out_w * 0.92), min(ph, out_h * 0.92)
    k = min(pw / w, ph / h)
    pw, ph = w * k, h * k
    cx, cy = (
        out_w / 2 + rng.uniform(-0.03, 0.03) * out_w,
        out_h / 2 + rng.uniform(-0.03, 0.03) * out_h,
    )
    angle = math.radians(rng.uniform(-7, 7))
    corners = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * pw / 2, dy * ph / 2
        jx, jy = rng.uniform(-0.05, 0.05) * pw, rng.uniform(-0.05, 0.05) * ph
        xr = (x + jx) * math.cos(angle) - (y + jy) * math.sin(angle)
        yr = (x + jx) * math.sin(angle) + (y + jy) * math.cos(angle)
        corners.append((cx + xr, cy + yr))
    m = cv2.getPerspectiveTransform(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32),
        np.array(corners, dtype=np.float32),
    )
    # table background: a colour with texture
    base = np.array(
        rng.choice([(90, 70, 50), (60, 60, 65), (120, 95, 70), (40, 45, 60), (140, 140, 135)]),
        dtype=np.float32,
    )
    bg = np.ones((out_h, out_w, 3), np.float32) * base
    grain = cv2.GaussianBlur(nrng.normal(0, 18, (out_h, out_w)).astype(np.float32), (0, 0), 3)
    bg += grain[..., None]
    warped = cv2.warpPerspective(
        src, m, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=(0, 0, 0)
    )
    mask = cv2.warpPerspective(
        np.ones((h, w), np.float32), m, (out_w, out_h), flags=cv2.INTER_LINEAR
    )
    arr: np.ndarray = warped * mask[..., None] + bg * (1 - mask[..., None])
    # lighting: gradient plus a soft shadow blob
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    g = 1 - rng.uniform(0.05, 0.25) * (xx / out_w if rng.random() < 0.5 else yy / out_h)
    if rng.random() < 0.7:
        sx, sy = rng.uniform(0, out_w), rng.uniform(0, out_h)
        rad = rng.uniform(0.25, 0.5) * out_w
        g *= 1 - rng.uniform(0.15, 0.35) * np.exp(
            -(((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * rad**2))
        )
    arr *= g[..., None]
    arr *= np.array([rng.uniform(0.95, 1.05) for _ in range(3)], dtype=np.float32)  # white balance
    sigma = rng.uniform(0.4, 1.2)
    arr = np.asarray(cv2.GaussianBlur(arr, (0, 0), sigma), dtype=np.float32)
    arr += nrng.normal(0, rng.uniform(2, 6), arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    coarse = rng.choices([0, 90, 180, 270], weights=[6, 2, 1, 1])[0]
    use_exif = rng.random() < 0.4
    coarse = coarse if rotation is None else rotation
    use_exif = use_exif if exif is None else exif
    exif_orientation = 1
    if coarse:
        if use_exif:
            # the phone stores pixels sideways and says so in EXIF; the displayed image is upright
            exif_orientation = {90: 6, 180: 3, 270: 8}[coarse]
            out = out.rotate(coarse, expand=True)  # PIL rotates counter-clockwise
        else:
            out = out.rotate(-coarse, expand=True)
    info = {
        "perspective": True,
        "skew": round(math.degrees(angle), 2),
        "blur": round(sigma, 2),
        "rotation": coarse,
        "exif_orientation": exif_orientation,
    }
    return out, info, exif_orientation


def encode(img: Image.Image, rng: random.Random, *, fmt: str, exif_orientation: int = 1) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", optimize=True)
    else:
        exif = Image.Exif()
        if exif_orientation != 1:
            exif[0x0112] = exif_orientation
        img.save(buf, format="JPEG", quality=rng.randint(60, 88), exif=exif.tobytes())
    return buf.getvalue()


@dataclass
class Sample:
    name: str
    data: bytes
    ext: str
    truth: dict[str, Any]


def make_sample(
    index: int,
    seed: int = 7,
    *,
    layout: str | None = None,
    visit_type: str | None = None,
    photo_share: float = 0.67,
    difficulty: str | None = None,
    rotation: int | None = None,
    exif: bool | None = None,
) -> Sample:
    """One receipt; the keyword arguments pin what is otherwise drawn from the seed."""
    fonts = find_cjk_fonts()
    if not fonts:
        raise RuntimeError("no CJK font found (install e.g. fonts-noto-cjk or fonts-wqy-microhei)")
    rng = random.Random(f"ocr-synth-{seed}-{index}")
    layout = layout or list(LAYOUTS)[index % len(LAYOUTS)]
    visit_type = visit_type or ("outpatient" if (index // len(LAYOUTS)) % 2 == 0 else "inpatient")
    font = fonts[index % len(fonts)]
    variety = random.Random(f"ocr-synth-variety-{seed}-{index}")
    receipt = make_receipt(
        rng, visit_type=visit_type, electronic=layout == "electronic", variety=variety
    )
    if layout == "paper_list" and variety.random() < 0.5:
        itemise_by_code(receipt, variety)
    img = LAYOUTS[layout](receipt, Fonts(font), rng)
    is_photo = rng.random() < photo_share if difficulty is None else difficulty == "photo"
    if is_photo:
        out, info, exif_o = photo(img, rng, rotation=rotation, exif=exif)
        data, ext = encode(out, rng, fmt="jpg", exif_orientation=exif_o), "jpg"
    else:
        out, info = scan(img, rng)
        fmt = "png" if rng.random() < 0.4 else "jpg"
        data, ext = encode(out, rng, fmt=fmt), fmt
    truth = {
        "fields": receipt.ground_truth(),
        "meta": {
            "difficulty": "photo" if is_photo else "clean",
            "layout": layout,
            "font": font.name,
            "font_style": font.style,
            "province": receipt.province,
            "degradation": info,
            "seed": seed,
            "index": index,
        },
    }
    return Sample(f"{index:03d}", data, ext, truth)


def generate(count: int, seed: int = 7, photo_share: float = 0.67) -> list[Sample]:
    return [make_sample(i, seed, photo_share=photo_share) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--photo-share", type=float, default=0.67)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for s in generate(args.count, args.seed, args.photo_share):
        (args.out_dir / f"{s.name}.{s.ext}").write_bytes(s.data)
        (args.out_dir / f"{s.name}.json").write_text(
            json.dumps(s.truth, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    print(
        f"wrote {args.count} receipts to {args.out_dir} (fonts: "
        f"{', '.join(f.name for f in find_cjk_fonts())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
