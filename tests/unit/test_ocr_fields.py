"""Field extraction from synthetic OCR lines with boxes (no OCR engine involved)."""

from __future__ import annotations

from ocr.engines import Char, TextLine, split_on_gaps
from ocr.fields import extract_fields, extract_items


def line(
    text: str,
    x: float,
    y: float,
    *,
    h: float = 30,
    cw: float = 25,
    gaps: dict[int, float] | None = None,
    conf: float = 0.99,
) -> TextLine:
    """A line with per-character boxes; ``gaps`` adds extra space before character i."""
    chars, pos = [], x
    for i, c in enumerate(text):
        pos += (gaps or {}).get(i, 0)
        w = cw if ord(c) > 0x2E80 else cw * 0.6
        chars.append(Char(c, conf, pos, pos + w))
        pos += w
    return TextLine(text, conf, (x, y, pos, y + h), chars)


def test_label_and_value_on_one_line_and_in_neighbour_cells() -> None:
    lines = [
        line("广东省医疗门诊收费票据（电子）", 400, 20),
        line("票据代码：44010124", 50, 100),
        line("票据号码：0012345678", 500, 100),
        line("校验码：", 1000, 100),
        line("3e1d2f", 1120, 100),  # value in the cell to the right
        line("交款人：张三", 50, 150),
        line("开票日期：2024年3月5日", 500, 150),
        line("医保类型：自费", 1000, 150),  # 自费 is a value here, not the 个人自费 label
        line("姓名", 50, 200),  # label above, value below
        line("收款单位（章）：广州市第一人民医院", 50, 400),
    ]
    ex = extract_fields(lines)
    v = {k: f.value for k, f in ex.fields.items()}
    assert v["invoice_code"] == "44010124"
    assert v["invoice_number"] == "0012345678"
    assert v["check_code"] == "3e1d2f"
    assert v["payer_name"] == "张三"
    assert v["issue_date"] == "2024-03-05"
    assert v["insurance_type"] == "自费"
    assert v["hospital_name"] == "广州市第一人民医院"
    assert v["visit_type"] == "outpatient"
    assert "self_expense" not in v
    # the box of a value covers the value only, right of its label
    code = ex.fields["invoice_code"]
    assert code.box is not None and code.box[0] > 50 + 4 * 25
    assert 0.9 < code.confidence <= 1.0


def test_label_row_above_value_row() -> None:
    lines = [
        line("四川省医疗住院收费票据", 400, 20),
        line("姓名", 60, 100),
        line("医保类别", 400, 100),
        line("住院号", 900, 100),
        line("李四", 60, 145),
        line("城乡居民基本医疗保险", 400, 145),
        line("12345678", 900, 145),
    ]
    v = {k: f.value for k, f in extract_fields(lines).fields.items()}
    assert v["payer_name"] == "李四"
    assert v["insurance_type"] == "城乡居民基本医疗保险"
    assert v["visit_type"] == "inpatient"


def test_amounts_capital_and_payments() -> None:
    lines = [
        line("合计人民币（大写）：壹佰贰拾叁元肆角伍分", 50, 500),
        line("¥123.45", 900, 500),  # no 小写 label: the ¥ amount is the total
        line("统筹基金支付：60.00", 50, 550),
        line("其它支付：0.00", 500, 550),
        line("个人帐户支付：13.45", 900, 550),
        line("个人现金支付：50.00", 50, 600),
        line("个人自付：l0.00", 500, 600),  # OCR read 1 as l
        line("个人自费：5.00", 900, 600),
        line("No 0098765432", 900, 50),
    ]
    v = {k: f.value for k, f in extract_fields(lines).fields.items()}
    assert v["total_amount_upper"] == "壹佰贰拾叁元肆角伍分"
    assert v["total_amount"] == "123.45"
    assert v["fund_paid"] == "60.00"
    assert v["other_paid"] == "0.00"
    assert v["personal_account_paid"] == "13.45"
    assert v["personal_cash_paid"] == "50.00"
    assert v["self_pay"] == "10.00"
    assert v["self_expense"] == "5.00"
    assert v["invoice_number"] == "0098765432"


def test_items_two_blocks_with_glued_quantity_column() -> None:
    header = [
        line("项目名称", 60, 300),
        line("数量", 330, 300),
        line("金额（元）", 470, 300),
        line("项目名称", 790, 300),
        line("数量", 1060, 300),
        line("金额（元）", 1200, 300),
    ]
    # the engine glued name, quantity and amount into one line: "西药费156.80"
    glued = line("西药费156.80", 60, 345, gaps={3: 195, 4: 120})
    assert len(split_on_gaps(glued, gap_factor=10)) == 1
    rows = [
        glued,
        line("检查费", 60, 390),
        line("1", 340, 390),
        line("66.65", 480, 390),
        line("治疗费", 790, 345),
        line("2", 1070, 345),
        line("100.00", 1210, 345),
        line("合计（大写）：贰佰贰拾叁元肆角伍分", 60, 460),
    ]
    items, conf, box = extract_items(header + rows)
    assert sorted((i.name, i.amount) for i in items) == [
        ("检查费", "66.65"),
        ("治疗费", "100.00"),
        ("西药费", "56.80"),
    ]
    assert conf > 0.9 and box is not None


def test_items_with_their_national_codes_where_the_invoice_prints_them() -> None:
    header = [
        line("项目编码", 60, 300),
        line("项目名称", 700, 300),
        line("数量", 1000, 300),
        line("金额", 1150, 300),
    ]
    rows = [
        line("XJ01CAM774P370643304452", 60, 345, cw=20),
        line("阿莫西林胶囊", 700, 345),
        line("2", 1010, 345),
        line("36.40", 1160, 345),
        line("001201000010000", 60, 390, cw=20),  # a service: 15 digits
        line("住院诊查费", 700, 390),
        line("1", 1010, 390),
        line("20.00", 1160, 390),
        line("——", 60, 435),  # no code printed for this one
        line("自制膏方", 700, 435),
        line("1", 1010, 435),
        line("88.00", 1160, 435),
        line("ZA12ABC0123456789012", 60, 480, cw=20),  # a Chinese patent drug: Z + 19
        line("麝香保心丸", 700, 480),
        line("1", 1010, 480),
        line("12.00", 1160, 480),
        line("合计（大写）：壹佰伍拾陆元肆角", 60, 545),
    ]
    ex = extract_fields(header + rows)
    assert sorted(ex.values()["items"], key=lambda i: i["amount"]) == [
        {"name": "麝香保心丸", "amount": "12.00", "code": "ZA12ABC0123456789012"},
        {"name": "住院诊查费", "amount": "20.00", "code": "001201000010000"},
        {"name": "阿莫西林胶囊", "amount": "36.40", "code": "XJ01CAM774P370643304452"},
        {"name": "自制膏方", "amount": "88.00"},
    ]


def test_split_on_gaps_separates_table_cells() -> None:
    glued = line("西药费156.80", 60, 345, gaps={3: 80, 4: 80})
    parts = split_on_gaps(glued)
    assert [p.text for p in parts] == ["西药费", "1", "56.80"]


def test_nothing_found_on_unrelated_text() -> None:
    ex = extract_fields([line("今天天气很好", 10, 10), line("12345", 10, 60)])
    assert ex.fields == {}
    assert ex.items == []


def test_label_with_seal_marker_and_value_in_next_cell() -> None:
    lines = [line("收款单位（章）", 60, 800), line("宜昌市中心人民医院", 260, 795)]
    v = {k: f.value for k, f in extract_fields(lines).fields.items()}
    assert v["hospital_name"] == "宜昌市中心人民医院"


def test_hospital_names_in_other_wordings_wrapped_unlabelled_and_with_digits() -> None:
    def hospital(lines: list[TextLine]) -> str | None:
        f = extract_fields(lines).fields.get("hospital_name")
        return None if f is None else f.value

    # another label wording, the seal's own text glued on
    assert hospital([line("收费单位：同仁医院财务专用章", 50, 400)]) == "同仁医院"
    assert hospital([line("就诊医院", 50, 400), line("解放军第306医院", 260, 400)]) == (
        "解放军第306医院"
    )
    # a 20-character name wrapped in a narrow cell
    wrapped = [
        line("收款单位：浙江省杭州市经济技术开发区中西", 50, 400),
        line("医结合医院", 200, 436),
        line("收款人：王五", 50, 480),
    ]
    assert hospital(wrapped) == "浙江省杭州市经济技术开发区中西医结合医院"
    # no label at all: the issuing hospital printed as a heading (not the title)
    heading = [
        line("宁波市第二医院", 500, 20, h=40),
        line("门诊收费票据", 520, 70),
        line("票据号码：0012345678", 50, 120),
    ]
    assert hospital(heading) == "宁波市第二医院"
    assert hospital([line("票据号码：0012345678", 50, 120)]) is None


def test_glyph_errors_in_amounts_dates_and_capital_amount() -> None:
    lines = [
        line("日期：202511/01", 50, 100),  # a separator lost
        line("金额合计（大写）：壹仟零陆拾政元陆角", 50, 200),  # 玖 read as 政
        line("小写：1069.60", 900, 200),
        line("个人自费：1.072.31", 50, 260),  # a thousands comma read as a point
        line("收款单位：东莞市人民医院用章", 50, 320),  # seal text glued on
    ]
    v = {k: f.value for k, f in extract_fields(lines).fields.items()}
    assert v["issue_date"] == "2025-11-01"
    assert v["total_amount"] == "1069.60"
    assert v["total_amount_upper"] == "壹仟零陆拾玖元陆角"
    assert v["self_expense"] == "1072.31"
    assert v["hospital_name"] == "东莞市人民医院"
    # a capital amount that reads as another valid amount is a disagreement, not a glyph error
    other = [line("合计（大写）：壹仟零陆拾捌元陆角", 50, 200), line("小写：1069.60", 900, 200)]
    assert extract_fields(other).fields["total_amount_upper"].value == "壹仟零陆拾捌元陆角"


def test_seal_text_across_the_header_row_does_not_hide_the_first_rows() -> None:
    lines = [
        line("项目", 60, 300),
        line("金额", 440, 300),
        line("项目", 740, 300),
        line("收费专用章", 800, 290, h=70),  # the seal's curved text, a tall box
        line("收费专用章", 790, 306, h=28),  # or read flat between two header cells
        line("金额", 1120, 300),
        line("一般诊疗费", 60, 352),
        line("394.43", 440, 352),
        line("治疗费", 740, 352),
        line("84.31", 1120, 352),
        line("卫生材料费", 60, 394),
        line("116.72", 440, 394),
        line("合计人民币（大写）：伍佰玖拾伍元肆角陆分", 60, 450),
    ]
    items, _, _ = extract_items(lines)
    assert sorted((i.name, i.amount) for i in items) == [
        ("一般诊疗费", "394.43"),
        ("卫生材料费", "116.72"),
        ("治疗费", "84.31"),
    ]
