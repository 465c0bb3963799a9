"""Deadlines in working days on the Chinese calendar (statutory holidays and 调休 make-up days).

The calendar is a port: the official one comes from a maintained package
(gateway/calendars.py). For a year it does not know yet, the documented fallback rule is
used — Monday to Friday are working days — and the result names the years so counted, so
the caller can say so loudly; a holiday is never silently counted as a working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol


class WorkdayCalendar(Protocol):
    """Whether a day is a working day; None when the calendar has no data for its year."""

    def is_workday(self, day: date) -> bool | None: ...


@dataclass(frozen=True)
class DueDate:
    """A computed deadline, and the years counted by the fallback rule (empty when none)."""

    due: date
    assumed_years: tuple[int, ...] = ()


def fallback_is_workday(day: date) -> bool:
    """The documented rule for unknown years: Monday to Friday."""
    return day.weekday() < 5


def add_working_days(start: date, days: int, calendar: WorkdayCalendar) -> DueDate:
    """The day on which the `days`-th working day after `start` falls (start not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day, counted, assumed = start, 0, set()
    while counted < days:
        day += timedelta(days=1)
        official = calendar.is_workday(day)
        if official is None:
            assumed.add(day.year)
            official = fallback_is_workday(day)
        counted += official
    return DueDate(day, tuple(sorted(assumed)))


def resolve_by(
    received: datetime, days: int, calendar: WorkdayCalendar
) -> tuple[datetime, DueDate]:
    """End of the working day `days` working days after `received`, in its own time zone."""
    due = add_working_days(received.date(), days, calendar)
    return datetime.combine(due.due, time(23, 59, 59), received.tzinfo), due
