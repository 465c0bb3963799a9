"""A sliding-window counter per caller, in memory, for the rate limits.

Time is cut into fixed windows of a limit's length; a caller's count in the current window
and in the one before are kept. Its load is the previous count weighted by the part of
the previous window still inside the sliding window, plus the current count, and a hit is
allowed while that load plus the hit stays within the limit. The `limits` library rounds
the load down first, so a burst that straddles a window boundary got one more request
through than the limit (the flaky boundary case of tests/integration/security/
test_rate_limits.py); here nothing is rounded. It runs on the event loop only: no locks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

PRUNE_EVERY = 60.0  # seconds between sweeps of callers idle for two windows


class SlidingWindowCounter:
    """Counts hits per key against limits of `amount` hits per `expiry` seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        # key → [window number, count in the window before, count in the window, expiry]
        self._slots: dict[str, list[int]] = {}
        self._pruned = clock()

    def hit(self, key: str, amount: int, expiry: int) -> bool:
        """Count one hit of `key` and answer True, or answer False when it is past its limit."""
        now = self.clock()
        if now - self._pruned > PRUNE_EVERY:
            self._prune(now)
        slot = self._slot(key, now, expiry)
        window, previous, current, _ = slot
        into = now - window * expiry  # seconds of the current window gone by
        # previous × (expiry − into) / expiry + current + 1 > amount, without the division
        if previous * (expiry - into) + (current + 1) * expiry > amount * expiry:
            return False
        slot[2] = current + 1
        return True

    def retry_after(self, key: str, amount: int, expiry: int) -> int:
        """Whole seconds (at least 1) until `key` may make one more hit."""
        now = self.clock()
        window, previous, current, _ = self._slot(key, now, expiry)
        into = now - window * expiry
        if current + 1 > amount:  # full on its own: into the next window, until it weighs less
            # (a limit of 0 refuses everything: its current count stays 0)
            wait = expiry - into + expiry * (current + 1 - amount) / max(current, 1)
        elif previous:  # the previous window's weight must shrink enough
            wait = expiry * (previous + current + 1 - amount) / previous - into
        else:
            wait = 0.0
        return max(1, math.ceil(wait))

    def _slot(self, key: str, now: float, expiry: int) -> list[int]:
        """The key's counts moved on to the window `now` is in."""
        window = int(now // expiry)
        slot = self._slots.get(key)
        if slot is None or slot[3] != expiry or slot[0] < window - 1:
            slot = self._slots[key] = [window, 0, 0, expiry]
        elif slot[0] == window - 1:
            slot[0], slot[1], slot[2] = window, slot[2], 0
        return slot

    def _prune(self, now: float) -> None:
        """Forget callers with no hit in their last two windows."""
        self._pruned = now
        idle = [k for k, (w, _, _, e) in self._slots.items() if (w + 2) * e <= now]
        for key in idle:
            del self._slots[key]
