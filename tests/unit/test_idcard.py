"""GB 11643 resident ID numbers: shape, birth date and the MOD 11-2 check character."""

from datetime import date

import pytest

from backend.errors import InvalidInput
from backend.identity.idcard import check_character, parse_id_number

TODAY = date(2024, 6, 1)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_known_number_from_the_standard_is_valid():
    # The worked example of GB 11643-1999, whose check character is X.
    assert check_character("11010519491231002") == "X"
    parsed = parse_id_number("11010519491231002X", TODAY)
    assert parsed.value == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.region_code == "110105"
    assert parsed.gender == "F"  # 17th digit 2 is even


def test_lowercase_x_and_surrounding_spaces_are_accepted():
    parsed = parse_id_number("  11010519491231002x ", TODAY)
    assert parsed.value == "11010519491231002X"


def test_numeric_check_digit_and_gender():
    number = with_check("33010619900101123")
    parsed = parse_id_number(number, TODAY)
    assert parsed.gender == "M"  # 3 is odd
    assert parsed.age_on(TODAY) == 34
    assert parsed.age_on(date(2024, 1, 1)) == 34
    assert parsed.age_on(date(2023, 12, 31)) == 33


def _wrong_check(number: str) -> str:
    right = number[-1]
    return number[:-1] + ("1" if right != "1" else "2")


@pytest.mark.parametrize(
    "number",
    [
        _wrong_check(with_check("33010619900101123")),
        "110105194912310020",  # X replaced by 0
        "110105194912310021",
    ],
)
def test_wrong_check_character_is_refused(number):
    with pytest.raises(InvalidInput) as err:
        parse_id_number(number, TODAY)
    assert err.value.status == 422
    assert err.value.code == "ID_NUMBER_INVALID"
    assert "校验位" in err.value.message


@pytest.mark.parametrize(
    "birth",
    ["19900230", "19900231", "19000229", "19901301", "19900001", "19900100", "18991231"],
)
def test_impossible_birth_dates_are_refused(birth):
    number = with_check(f"330106{birth}123")  # a correct check character: the date must fail
    with pytest.raises(InvalidInput) as err:
        parse_id_number(number, TODAY)
    assert "出生日期" in err.value.message


def test_leap_day_in_a_leap_year_is_valid():
    assert parse_id_number(with_check("33010620000229123"), TODAY).birth_date == date(2000, 2, 29)


def test_future_birth_date_is_refused_but_today_is_valid():
    with pytest.raises(InvalidInput):
        parse_id_number(with_check("33010620240602123"), TODAY)
    assert parse_id_number(with_check("33010620240601123"), TODAY).birth_date == TODAY


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "33010619900101123",  # 17 characters
        "3301061990010112345",  # 19 characters
        "330106900101123",  # old 15-digit form
        "03010619900101123X",  # region cannot start with 0
        "3301061990010112X3",  # X only as the last character
        "33010619900101123Y",
        "３３０１０６１９９００１０１１２３４",  # full-width digits
        "330106-19900101-1",
        "33010619900101 123",
    ],
)
def test_wrong_length_or_characters_are_refused(raw):
    with pytest.raises(InvalidInput) as err:
        parse_id_number(raw, TODAY)
    assert err.value.code == "ID_NUMBER_INVALID"
    assert "18 位" in err.value.message
