"""Calendar files: validated at start-up, and checked against the State Council's data."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import holidays
import pytest

from gateway.domain.errors import MappingError
from gateway.mapping.calendar_files import load_calendars
from gateway.mapping.calendars import ChineseWorkdays
from gateway.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "mappings"


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def test_the_2026_file_agrees_with_chinesecalendar_on_every_day() -> None:
    files = ChineseWorkdays(load_calendars(SHIPPED))
    differ = [d for d in days_of(2026) if files.is_workday(d) != chinese_calendar.is_workday(d)]
    assert differ == []


def test_the_provisional_2027_days_off_are_the_statutory_ones_the_holidays_package_lists() -> None:
    calendar = load_calendars(SHIPPED)[2027]
    assert calendar.provisional is True
    weekday_holidays = {d for d in holidays.China(years=2027) if d.weekday() < 5}
    weekday_days_off = {d for d in calendar.days_off() if d.weekday() < 5}
    assert weekday_days_off == weekday_holidays
    assert date(2027, 2, 5) in calendar.days_off(), "除夕 2027 is a day off"


def a_copy(tmp_path: Path, year: int, old: str, new: str) -> Path:
    root = tmp_path / "mappings"
    (root / "calendars").mkdir(parents=True)
    text = (SHIPPED / "calendars" / f"{year}.toml").read_text(encoding="utf-8")
    assert old in text, old
    (root / "calendars" / f"{year}.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("last = 2026-01-03", "last = 2025-12-31", "last (2025-12-31) is before first"),
        ("workdays = [2026-01-04]", "workdays = [2026-01-05]", "is not a weekend day"),
        ("workdays = [2026-01-04]", "workdays = [2026-02-15]", "make-up day 2026-02-15"),
        ("last = 2026-01-03", "last = 2026-02-16", "is in both '元旦' and '春节'"),
        ('name = "元旦"\nfirst = 2026-01-01', 'name = "元旦"\nfirst = 2025-12-30', "not in 2026"),
        ("provisional = false", 'provisional = "no"', "provisional"),
        ("year = 2026", "year = 2025", "must be named 2025.toml"),
        ('[[holidays]]\nname = "春节"', '[[holiday]]\nname = "春节"', "holiday"),
        ("first = 2026-05-01", "first = 2026-05-32", "not valid TOML"),
    ],
)
def test_a_broken_calendar_file_stops_start_up_naming_file_and_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    root = a_copy(tmp_path, 2026, old, new)
    with pytest.raises(MappingError) as caught:
        load_calendars(root)
    assert "2026.toml" in str(caught.value) and message in str(caught.value)


def test_without_a_calendars_folder_the_package_alone_answers(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED / "deadlines", tmp_path / "deadlines")
    assert load_calendars(tmp_path) == {}


def test_coverage_names_each_years_source_and_the_next_gap() -> None:
    calendar = ChineseWorkdays(load_calendars(SHIPPED))
    by_year = {c.year: c for c in calendar.coverage()}
    assert (by_year[2026].source, by_year[2026].provisional) == ("file", False)
    assert (by_year[2027].source, by_year[2027].provisional) == ("file", True)
    assert by_year[2025].source == "chinesecalendar"
    assert calendar.next_gap(2026) == 2028
