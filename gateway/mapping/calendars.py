"""The Chinese working-day calendar: operator files first, then the `chinesecalendar` package.

A year with a file under mappings/calendars/ is answered from that file (the file wins
where both know the year); a year the package knows is answered from the package (the
State Council's notices, as released); any other year is "unknown" (None), which the
deadline rules count Monday to Friday and say so loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import chinese_calendar
from chinese_calendar.constants import holidays as package_holidays

from gateway.mapping.calendar_files import YearCalendar


@dataclass(frozen=True)
class YearCoverage:
    """Where one year's working days come from."""

    year: int
    source: str  # "file" | "chinesecalendar"
    provisional: bool
    detail: str


class ChineseWorkdays:
    """WorkdayCalendar over the calendar files, then `chinese_calendar.is_workday`."""

    def __init__(self, files: Mapping[int, YearCalendar] | None = None) -> None:
        self._files = dict(files or {})
        self._off = {year: f.days_off() for year, f in self._files.items()}
        self._worked = {year: f.make_up_days() for year, f in self._files.items()}

    def is_workday(self, day: date) -> bool | None:
        """True on working days (make-up days included), None for unknown years."""
        off = self._off.get(day.year)
        if off is None:
            return _official(day)
        if day in off:
            return False
        return day.weekday() < 5 or day in self._worked[day.year]

    def is_provisional(self, year: int) -> bool:
        """True when the year's file is derived from the rules, not from the notice."""
        entry = self._files.get(year)
        return entry is not None and entry.provisional

    def coverage(self) -> list[YearCoverage]:
        """Every year known, oldest first, and where its days come from."""
        known = {
            year: YearCoverage(year, "chinesecalendar", False, "chinesecalendar package")
            for year in package_years()
        }
        for year, entry in self._files.items():
            known[year] = YearCoverage(year, "file", entry.provisional, entry.source)
        return [known[year] for year in sorted(known)]

    def next_gap(self, after: int) -> int:
        """The first year from `after` on that no file and no package release covers."""
        covered = {entry.year for entry in self.coverage()}
        year = after
        while year in covered:
            year += 1
        return year


def package_years() -> list[int]:
    """The years the installed `chinesecalendar` release has notices for."""
    return sorted({day.year for day in package_holidays})


@lru_cache(maxsize=4096)  # every order asks about the same few weeks: 2 % of intake's CPU
def _official(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # not a stub: chinesecalendar has no data for that year
        return None
