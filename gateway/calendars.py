"""The official Chinese working-day calendar, from the maintained `chinesecalendar` package.

The package carries the State Council's yearly holiday and make-up-day (调休) notices; it
raises for years it has no data for, which this adapter turns into "unknown" (None).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar


class ChineseWorkdays:
    """WorkdayCalendar over `chinese_calendar.is_workday`."""

    def is_workday(self, day: date) -> bool | None:
        """True on working days (make-up Saturdays included), None for unknown years."""
        return _official(day)


@lru_cache(maxsize=4096)  # every order asks about the same few weeks: 2 % of intake's CPU
def _official(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # how the package says it has no data for that year
        return None
