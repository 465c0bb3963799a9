from __future__ import annotations

from gateway.domain.errors import PermanentDelivery, TransientDelivery
from gateway.mapping.profiles import RetryPolicy
from gateway.service.delivery.retry import next_delay

POLICY = RetryPolicy()
NO_JITTER = lambda low, high: 1.0  # noqa: E731


def test_the_default_schedule_is_the_standard_webhooks_one() -> None:
    delays = [next_delay(POLICY, n, TransientDelivery("x"), NO_JITTER) for n in range(1, 10)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


def test_the_tenth_failure_is_final() -> None:
    assert next_delay(POLICY, 10, TransientDelivery("x"), NO_JITTER) is None


def test_jitter_stays_within_twenty_percent() -> None:
    low = next_delay(POLICY, 2, TransientDelivery("x"), lambda a, b: a)
    high = next_delay(POLICY, 2, TransientDelivery("x"), lambda a, b: b)
    assert (low, high) == (240.0, 360.0)


def test_a_permanent_error_is_never_retried() -> None:
    assert next_delay(POLICY, 1, PermanentDelivery("gone"), NO_JITTER) is None


def test_a_timeout_or_429_waits_at_least_a_minute() -> None:
    assert next_delay(POLICY, 1, TransientDelivery("slow", throttled=True), NO_JITTER) == 60


def test_retry_after_is_honoured_within_one_to_two_times_the_delay() -> None:
    def after(seconds: float) -> float | None:
        error = TransientDelivery("busy", retry_after=seconds)
        return next_delay(POLICY, 2, error, NO_JITTER)

    assert (after(10), after(450), after(10_000)) == (300, 450, 600)
