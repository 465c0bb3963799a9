"""Deadlines in working days on the Chinese calendar (statutory holidays and 调休 make-up days).

The calendar is a port: the official one reads the operator's calendar files and the
maintained package (gateway/mapping/calendars.py). For a year it does not know, the documented
fallback rule is used — Monday to Friday are working days — and the result names the
years so counted, and the years counted from a provisional file, so the caller can say so
loudly; a holiday is never silently counted as a working day.

Days are the jurisdiction's days: a time is first converted to the policy's time zone
(Asia/Shanghai unless the policy says otherwise), whatever UTC offset it was sent with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from gateway.service.ports.calendar import WorkdayCalendar


@dataclass(frozen=True)
class DueDate:
    """A computed deadline, the years counted by the fallback rule and the provisional ones."""

    due: date
    assumed_years: tuple[int, ...] = ()
    provisional_years: tuple[int, ...] = ()


def fallback_is_workday(day: date) -> bool:
    """The documented rule for unknown years: Monday to Friday."""
    return day.weekday() < 5


def add_working_days(start: date, days: int, calendar: WorkdayCalendar) -> DueDate:
    """The day on which the `days`-th working day after `start` falls (start not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day, counted, assumed, provisional = start, 0, set(), set()
    while counted < days:
        day += timedelta(days=1)
        official = calendar.is_workday(day)
        if official is None:
            assumed.add(day.year)
            official = fallback_is_workday(day)
        elif calendar.is_provisional(day.year):
            provisional.add(day.year)
        counted += official
    return DueDate(day, tuple(sorted(assumed)), tuple(sorted(provisional)))


def resolve_by(
    received: datetime, days: int, calendar: WorkdayCalendar, zone: tzinfo
) -> tuple[datetime, DueDate]:
    """End of the working day `days` working days after `received`, in the time zone `zone`."""
    local = received.astimezone(zone)
    due = add_working_days(local.date(), days, calendar)
    return datetime.combine(due.due, time(23, 59, 59), zone), due


def later_by(
    deadline: datetime, days: int, calendar: WorkdayCalendar, zone: tzinfo
) -> tuple[datetime, DueDate]:
    """The same local time of day, `days` working days after `deadline` (in `zone`)."""
    local = deadline.astimezone(zone)
    due = add_working_days(local.date(), days, calendar)
    return datetime.combine(due.due, local.timetz()), due
