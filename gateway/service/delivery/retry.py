"""When to try a failed delivery again: the stored schedule, jitter, throttling, Retry-After.

This is the one place that decides retries for hours and days; connectors never loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gateway.domain.errors import DeliveryError
from gateway.mapping.profiles import RetryPolicy

#: jitter from a generator of its own: the dispatcher thread never moves the module-wide
#: `random` state under the feet of code sharing the process (Hypothesis flags exactly that)
_JITTER = random.Random()


def next_delay(
    policy: RetryPolicy,
    attempts: int,
    error: DeliveryError,
    uniform: Callable[[float, float], float] = _JITTER.uniform,
) -> float | None:
    """Seconds until the next attempt after `attempts` tries, or None to dead-letter.

    The schedule's entry for the next attempt, jittered; at least the throttle floor
    after a timeout or 429; a Retry-After is honoured within 1×–2× of that delay.
    """
    if not error.retryable or attempts >= len(policy.schedule):
        return None
    base = policy.schedule[attempts]
    delay = base * uniform(1 - policy.jitter, 1 + policy.jitter)
    if error.throttled:
        delay = max(delay, policy.throttle_floor)
    if error.retry_after is not None:
        delay = min(max(error.retry_after, delay), 2 * delay)
    return delay
