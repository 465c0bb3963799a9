"""A sliding-window log per caller, in memory, for the rate limits.

A caller may make `amount` hits in any `expiry` seconds, exactly: the counter keeps the
times of its last `amount` hits, and a hit is allowed when it has fewer, or the oldest of
them is at least `expiry` seconds old. Retry-After is then exact too: the moment that
oldest hit leaves the window, never more than `expiry` seconds away. (The `limits`
library's sliding window weighs the previous fixed window's count and rounds it down, so
a burst straddling a boundary got one request past the limit: the flaky boundary case of
tests/integration/security/test_rate_limits.py; an unrounded weighted count fixes that
but can ask a caller to wait longer than the window.) Memory is at most `amount` times per
active caller; callers idle for a window are forgotten. It runs on the event loop only:
no locks.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

PRUNE_EVERY = 60.0  # seconds between sweeps of callers idle for their window


class SlidingWindowCounter:
    """Counts hits per key against limits of `amount` hits per `expiry` seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._logs: dict[str, tuple[deque[float], int]] = {}  # key → (hit times, expiry)
        self._pruned = clock()

    def hit(self, key: str, amount: int, expiry: int) -> bool:
        """Count one hit of `key` and answer True, or answer False when it is past its limit."""
        now = self.clock()
        if now - self._pruned > PRUNE_EVERY:
            self._prune(now)
        if amount < 1:
            return False
        times = self._times(key, amount, expiry)
        if len(times) == amount and times[0] > now - expiry:
            return False
        times.append(now)  # the deque keeps the last `amount`
        return True

    def retry_after(self, key: str, amount: int, expiry: int) -> int:
        """Whole seconds (at least 1) until `key` may make one more hit."""
        if amount < 1:
            return max(1, expiry)  # a limit of 0 refuses everything
        times = self._times(key, amount, expiry)
        if len(times) < amount:
            return 1
        return max(1, math.ceil(times[0] + expiry - self.clock()))

    def _times(self, key: str, amount: int, expiry: int) -> deque[float]:
        """The key's last hit times, kept for this limit."""
        found = self._logs.get(key)
        if found is None or found[0].maxlen != amount or found[1] != expiry:
            kept = found[0] if found is not None else ()
            found = self._logs[key] = (deque(kept, maxlen=amount), expiry)
        return found[0]

    def _prune(self, now: float) -> None:
        """Forget callers with no hit in their last window."""
        self._pruned = now
        idle = [k for k, (times, e) in self._logs.items() if not times or times[-1] <= now - e]
        for key in idle:
            del self._logs[key]
