"""The rate limits' sliding-window counter: never one past the limit, at a window boundary
either, a Retry-After that is enough, and idle callers forgotten."""

from __future__ import annotations

from gateway.api.sliding_window import PRUNE_EVERY, SlidingWindowCounter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def hits(counter: SlidingWindowCounter, n: int, amount: int = 20, expiry: int = 60) -> list[bool]:
    return [counter.hit("caller", amount, expiry) for _ in range(n)]


def test_a_caller_gets_its_limit_and_no_more() -> None:
    counter = SlidingWindowCounter(Clock(6000.0 + 10))
    assert hits(counter, 21) == [True] * 20 + [False]


def test_a_burst_straddling_a_window_boundary_gets_no_extra_request() -> None:
    """The `limits` library rounds the weighted count down: 10 hits just before the
    minute and 10 just after let a 21st through (the flaky test_rate_limits case)."""
    clock = Clock(6000.0 - 0.2)
    counter = SlidingWindowCounter(clock)
    assert hits(counter, 10) == [True] * 10
    clock.now = 6000.0 + 0.3
    assert hits(counter, 11) == [True] * 10 + [False]


def test_the_previous_window_weighs_less_as_it_slides_out() -> None:
    clock = Clock(6000.0 - 1)
    counter = SlidingWindowCounter(clock)
    assert hits(counter, 20) == [True] * 20
    clock.now = 6000.0 + 30  # half the previous window still inside: 10 of its 20 count
    assert hits(counter, 11) == [True] * 10 + [False]
    clock.now = 6000.0 + 120  # two windows on: nothing counts
    assert hits(counter, 20) == [True] * 20


def test_retry_after_is_enough_and_not_much_more() -> None:
    clock = Clock(6000.0 + 10)
    counter = SlidingWindowCounter(clock)
    hits(counter, 20)
    wait = counter.retry_after("caller", 20, 60)
    clock.now += wait - 1
    assert not counter.hit("caller", 20, 60), "one second earlier is still too early"
    clock.now += 1
    assert counter.hit("caller", 20, 60)
    assert 1 <= wait <= 60


def test_retry_after_when_the_previous_window_is_what_blocks() -> None:
    clock = Clock(6000.0 - 1)
    counter = SlidingWindowCounter(clock)
    hits(counter, 20)
    clock.now = 6000.0 + 1
    assert not counter.hit("caller", 20, 60)
    wait = counter.retry_after("caller", 20, 60)
    clock.now += wait
    assert counter.hit("caller", 20, 60)
    assert wait <= 4


def test_callers_each_have_their_own_count_and_idle_ones_are_forgotten() -> None:
    clock = Clock(6000.0)
    counter = SlidingWindowCounter(clock)
    assert hits(counter, 2, amount=2) == [True, True]
    assert counter.hit("other", 2, 60)
    clock.now += max(PRUNE_EVERY, 120) + 1
    counter.hit("third", 2, 60)
    assert set(counter._slots) == {"third"}


def test_a_limit_of_zero_refuses_with_a_retry_after_not_an_error() -> None:
    counter = SlidingWindowCounter(Clock(6000.0 + 10))
    assert hits(counter, 2, amount=0) == [False, False]
    assert counter.retry_after("caller", 0, 60) >= 1
