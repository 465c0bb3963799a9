"""The calendar port: which days are working days in the jurisdiction."""

from __future__ import annotations

from datetime import date
from typing import Protocol


class WorkdayCalendar(Protocol):
    """Whether a day is a working day; None when the calendar has no data for its year."""

    def is_workday(self, day: date) -> bool | None: ...

    def is_provisional(self, year: int) -> bool:
        """True when the year's days are derived from the rules, not from the notice."""
        ...
