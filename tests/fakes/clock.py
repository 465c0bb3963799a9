"""A clock that stands still until a test moves it."""

from __future__ import annotations

#: Monday 2 March 2026, 09:00 in Beijing: a working day, well inside office hours
MONDAY_MORNING = 1_772_413_200.0


class FixedClock:
    """Epoch seconds that change only when `advance` is called (pass it where `time.time` goes)."""

    def __init__(self, now: float = MONDAY_MORNING) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds`; the new time."""
        if seconds < 0:
            raise ValueError(f"a clock does not go back ({seconds} s)")
        self.now += seconds
        return self.now
