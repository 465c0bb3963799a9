"""Working-day deadlines across the 2026 Spring Festival and its make-up Saturdays."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from gateway.mapping.calendar_files import load_calendars
from gateway.mapping.calendars import ChineseWorkdays
from gateway.service.deadlines.workdays import add_working_days, resolve_by
from gateway.settings import REPO_ROOT

CALENDAR = ChineseWorkdays(load_calendars(REPO_ROOT / "mappings"))
CST = timezone(timedelta(hours=8))


def test_the_official_calendar_knows_the_festival_and_the_make_up_saturdays() -> None:
    assert CALENDAR.is_workday(date(2026, 2, 14)) is True  # Saturday, 调休 working day
    assert CALENDAR.is_workday(date(2026, 2, 17)) is False  # 春节
    assert CALENDAR.is_workday(date(2026, 2, 28)) is True  # Saturday, 调休 working day
    assert CALENDAR.is_workday(date(2026, 3, 1)) is False  # an ordinary Sunday


def test_a_complaint_received_before_the_festival_is_due_after_thirteen_working_days() -> None:
    # Fri 13 Feb; counted: Sat 14 (make-up), Tue 24 – Fri 27, Sat 28 (make-up), 2 – 6 and 9 – 10 Mar
    due = add_working_days(date(2026, 2, 13), 13, CALENDAR)
    assert due.due == date(2026, 3, 10) and due.assumed_years == ()


def test_a_consult_due_in_three_working_days_skips_the_whole_holiday() -> None:
    assert add_working_days(date(2026, 2, 13), 3, CALENDAR).due == date(2026, 2, 25)


def test_the_deadline_is_the_end_of_that_working_day_in_the_callers_zone() -> None:
    received = datetime(2026, 2, 13, 16, 30, tzinfo=CST)
    due, _ = resolve_by(received, 1, CALENDAR, CST)
    assert due == datetime(2026, 2, 14, 23, 59, 59, tzinfo=CST)


def test_a_year_the_calendar_does_not_know_is_counted_by_the_fallback_rule_and_named() -> None:
    due = add_working_days(date(2027, 12, 30), 3, CALENDAR)
    # 31 Dec 2027 (Fri) is known from the 2027 file; 2028 is not: Mon 3 and Tue 4 Jan by the rule
    assert due.due == date(2028, 1, 4) and due.assumed_years == (2028,)
    assert due.provisional_years == (2027,)
