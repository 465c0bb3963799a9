"""Deadlines across the 2026/2027 year boundary, counted in Beijing's days.

The calendar is the shipped one: mappings/calendars/2026.toml (the State Council's notice)
and 2027.toml (provisional: statutory holidays, no 调休 yet).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.mapping.calendar_files import load_calendars
from gateway.mapping.calendars import ChineseWorkdays
from gateway.service.deadlines.setting import DeadlineSetter
from gateway.service.deadlines.workdays import add_working_days, later_by, resolve_by
from gateway.settings import REPO_ROOT

CALENDAR = ChineseWorkdays(load_calendars(REPO_ROOT / "mappings"))
BEIJING = ZoneInfo("Asia/Shanghai")

CASES = [
    # received_at as sent, working days, resolve_by, provisional years counted
    ("2026-12-28T10:00:00+08:00", 5, "2027-01-05T23:59:59+08:00", (2027,)),  # 元旦 not counted
    ("2026-12-31T16:00:00+08:00", 1, "2027-01-04T23:59:59+08:00", (2027,)),  # eve of 元旦
    ("2026-12-31T16:00:00+08:00", 3, "2027-01-06T23:59:59+08:00", (2027,)),
    ("2026-12-27T23:00:00+00:00", 5, "2027-01-05T23:59:59+08:00", (2027,)),  # 07:00 Beijing
    ("2026-12-31T17:00:00+00:00", 1, "2027-01-04T23:59:59+08:00", (2027,)),  # 01:00 on 元旦
    ("2027-01-28T09:00:00+08:00", 13, "2027-02-22T23:59:59+08:00", (2027,)),  # spans 春节
    ("2027-02-04T09:00:00+08:00", 3, "2027-02-15T23:59:59+08:00", (2027,)),  # eve of 除夕
    ("2027-02-05T09:00:00+08:00", 1, "2027-02-11T23:59:59+08:00", (2027,)),  # on 除夕
    ("2026-05-08T09:00:00+08:00", 1, "2026-05-09T23:59:59+08:00", ()),  # make-up Saturday
    ("2026-09-19T09:00:00+08:00", 1, "2026-09-20T23:59:59+08:00", ()),  # make-up Sunday
    ("2026-12-30T09:00:00+08:00", 1, "2026-12-31T23:59:59+08:00", ()),  # 2026 only
]


@pytest.mark.parametrize(("received", "days", "expected", "provisional"), CASES)
def test_resolve_by_is_the_end_of_the_nth_beijing_working_day(
    received: str, days: int, expected: str, provisional: tuple[int, ...]
) -> None:
    due, counted = resolve_by(datetime.fromisoformat(received), days, CALENDAR, BEIJING)
    assert due.isoformat() == expected
    assert counted.assumed_years == () and counted.provisional_years == provisional


def test_07_00_beijing_sent_in_utc_counts_from_the_beijing_day_not_the_utc_one() -> None:
    sent = datetime.fromisoformat("2026-12-27T23:00:00+00:00")  # Sunday in UTC, Monday here
    in_beijing, _ = resolve_by(sent, 5, CALENDAR, BEIJING)
    in_utc, _ = resolve_by(sent, 5, CALENDAR, ZoneInfo("UTC"))
    assert in_beijing.isoformat() == "2027-01-05T23:59:59+08:00"
    assert in_utc.isoformat() == "2027-01-04T23:59:59+00:00"


def test_the_file_wins_over_the_package_where_both_know_the_year() -> None:
    edited = load_calendars(REPO_ROOT / "mappings")[2026].model_copy(update={"holidays": ()})
    assert ChineseWorkdays({2026: edited}).is_workday(date(2026, 10, 1)) is True
    assert ChineseWorkdays({}).is_workday(date(2026, 10, 1)) is False  # the package's 国庆


def test_a_year_no_file_and_no_package_knows_is_counted_monday_to_friday_and_named() -> None:
    counted = add_working_days(date(2027, 12, 30), 3, CALENDAR)
    assert counted.due == date(2028, 1, 4)
    assert (counted.assumed_years, counted.provisional_years) == ((2028,), (2027,))


def test_seriously_overdue_is_counted_in_working_days_after_the_deadline() -> None:
    deadline = datetime.fromisoformat("2027-02-04T23:59:59+08:00")  # the day before 除夕
    serious, _ = later_by(deadline, 3, CALENDAR, BEIJING)
    assert serious.isoformat() == "2027-02-15T23:59:59+08:00"


class CountingCalendar:
    """The shipped calendar, counting the days it is asked about."""

    def __init__(self) -> None:
        self.asked = 0

    def is_workday(self, day: date) -> bool | None:
        self.asked += 1
        return CALENDAR.is_workday(day)

    def is_provisional(self, year: int) -> bool:
        return CALENDAR.is_provisional(year)


@pytest.mark.parametrize(("received", "days", "expected", "provisional"), CASES)
def test_a_remembered_resolve_deadline_is_the_one_counted_afresh(
    received: str, days: int, expected: str, provisional: tuple[int, ...]
) -> None:
    """The setter counts a local day's deadline once: the second order of the day (later,
    sent with another offset) gets it without asking the calendar, and its own lists."""
    from tests.unit.service.world import directory

    calendar = CountingCalendar()
    setter = DeadlineSetter(directory(), calendar)
    sent = datetime.fromisoformat(received)
    first = setter._counted(sent, days, BEIJING)
    asked = calendar.asked
    first[1]["calendar_provisional_years"].append(1999)  # a caller's change stays its own
    again = setter._counted(sent.astimezone(ZoneInfo("UTC")), days, BEIJING)
    assert calendar.asked == asked
    assert first[0] == again[0] and again[0].isoformat() == expected
    assert again[1] == {
        "calendar_unknown_years": [],
        "calendar_provisional_years": list(provisional),
    }
