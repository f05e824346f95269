"""Working-day arithmetic over the configured holiday calendar, and SLA states."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.cases.service import _calendar_for
from config.policy import HolidayYear, PolicyError, load_policies, load_table
from workflows.calendar import CHINA_TZ, CalendarError, WorkingCalendar
from workflows.sla import ClockRule, LimitUnit, SlaState, TimeLimit, due_at, resumed_due, sla_state


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return _calendar_for(load_policies())


def test_weekends_holidays_and_adjusted_workdays(cal):
    assert cal.is_working_day(date(2025, 9, 26))  # Friday
    assert not cal.is_working_day(date(2025, 9, 27))  # Saturday
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday worked (调休)
    assert not cal.is_working_day(date(2025, 10, 1))  # National Day
    assert not cal.is_working_day(date(2025, 10, 8))  # still the long holiday (Wednesday)
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday worked
    assert not cal.is_working_day(date(2026, 2, 16))  # Spring Festival 2026 (Monday)
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday worked before it


def test_adding_working_days_across_the_national_day_holidays(cal):
    # Fri 26 Sep + 3 working days: Sun 28 (worked), Mon 29, Tue 30
    assert cal.add_working_days(date(2025, 9, 26), 3) == date(2025, 9, 30)
    # + 4: the next working day is Thu 9 Oct, after the holiday
    assert cal.add_working_days(date(2025, 9, 26), 4) == date(2025, 10, 9)
    assert cal.add_working_days(date(2025, 9, 26), 6) == date(2025, 10, 11)  # worked Saturday
    assert cal.add_working_days(date(2025, 9, 26), 0) == date(2025, 9, 26)


def test_adding_working_days_across_spring_festival_and_new_year(cal):
    # Fri 13 Feb 2026 + 1: Sat 14 Feb is worked
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    # + 2: holiday from 15 to 23 Feb, so Tue 24 Feb
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # across the year end: Wed 31 Dec 2025 + 1 → 1-3 Jan off, Sun 4 Jan worked
    assert cal.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)


def test_working_days_between_counts_only_working_days(cal):
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert cal.working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == 0


def test_deadline_is_end_of_local_day(cal):
    start = datetime(2025, 9, 26, 23, 30, tzinfo=CHINA_TZ)
    assert cal.working_deadline(start, 1) == datetime(2025, 9, 29, 0, 0, tzinfo=CHINA_TZ)


def test_outside_the_calendar_is_refused_not_guessed(cal):
    with pytest.raises(CalendarError):
        cal.is_working_day(date(2031, 1, 2))


def test_due_and_states_for_each_unit(cal):
    start = datetime(2025, 9, 26, 10, 0, tzinfo=CHINA_TZ)
    wd = TimeLimit(5, LimitUnit.WORKING_DAYS)
    # Sep 28 (worked Sunday), 29, 30, Oct 9, Oct 10: due at the end of Oct 10
    assert due_at(wd, start, cal) == datetime(2025, 10, 11, tzinfo=CHINA_TZ)
    assert due_at(TimeLimit(48, LimitUnit.HOURS), start, cal) == start + timedelta(hours=48)
    assert due_at(TimeLimit(2, LimitUnit.NATURAL_DAYS), start, cal) == datetime(
        2025, 9, 29, tzinfo=CHINA_TZ
    )
    due = start + timedelta(hours=10)
    warn = start + timedelta(hours=8)
    assert sla_state(start, due=due, warn=warn) is SlaState.NORMAL
    assert sla_state(warn, due=due, warn=warn) is SlaState.WARNING
    assert sla_state(due, due=due, warn=warn) is SlaState.OVERDUE
    assert sla_state(due, due=due, warn=warn, paused=True) is SlaState.PAUSED


def test_clock_rules_after_correction(cal):
    limit = TimeLimit(5, LimitUnit.WORKING_DAYS)
    start = datetime(2025, 9, 22, 10, 0, tzinfo=CHINA_TZ)  # Monday
    due = due_at(limit, start, cal)  # end of Mon 29 Sep
    paused = datetime(2025, 9, 24, 9, 0, tzinfo=CHINA_TZ)  # Wed
    resumed = datetime(2025, 9, 26, 9, 0, tzinfo=CHINA_TZ)  # Fri: 2 working days lost
    args = {"due": due, "paused_at": paused, "resumed_at": resumed, "calendar": cal}
    assert resumed_due(limit, ClockRule.CONTINUE, **args) == due
    assert resumed_due(limit, ClockRule.PAUSE, **args) == datetime(2025, 10, 1, tzinfo=CHINA_TZ)
    assert resumed_due(limit, ClockRule.RESTART, **args) == due_at(limit, resumed, cal)
    hours = TimeLimit(24, LimitUnit.HOURS)
    assert resumed_due(hours, ClockRule.PAUSE, **args) == due + (resumed - paused)


def test_holiday_file_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "holidays.yaml"
    bad.write_text(
        "- effective_from: 2025-01-01\n  year: 2025\n  holidays: [2025-10-01]\n"
        "  adjusted_workdays: [2025-10-01]\n"
    )
    with pytest.raises(PolicyError, match=r"holidays\.yaml"):
        load_table(bad, HolidayYear)
    bad.write_text("- effective_from: 2025-01-01\n  year: 2025\n  holidays: ['2025-13-01']\n")
    with pytest.raises(PolicyError, match="holidays"):
        load_table(bad, HolidayYear)
    bad.write_text(
        "- effective_from: 2025-01-01\n  year: 2025\n  holidays: []\n"
        "  adjusted_workdays: [2025-10-09]\n"
    )
    with pytest.raises(PolicyError, match="adjusted_workdays"):
        load_table(bad, HolidayYear)


def test_configured_years_cover_2025_to_2027():
    years = [v.year for v in load_policies().holidays.versions]
    assert years == [2025, 2026, 2027]
    assert len(load_policies().holidays.at(date(2025, 6, 1)).holidays) == 28
