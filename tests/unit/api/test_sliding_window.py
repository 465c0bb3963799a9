"""The rate limits' sliding-window log: never one past the limit in any window, at a
fixed-window boundary either, a Retry-After that is exact and within the window, and
idle callers forgotten."""

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


def test_hits_leave_the_window_one_by_one_as_it_slides() -> None:
    clock = Clock(6000.0)
    counter = SlidingWindowCounter(clock)
    for n in range(20):  # one hit a second
        clock.now = 6000.0 + n
        assert counter.hit("caller", 20, 60)
    clock.now = 6000.0 + 59.5
    assert not counter.hit("caller", 20, 60), "all 20 are still inside the last minute"
    clock.now = 6000.0 + 60
    assert counter.hit("caller", 20, 60), "the first has left"
    assert not counter.hit("caller", 20, 60)
    clock.now = 6000.0 + 61
    assert counter.hit("caller", 20, 60), "and the second"


def test_retry_after_is_exact_and_within_the_window() -> None:
    clock = Clock(6000.0 + 10)
    counter = SlidingWindowCounter(clock)
    hits(counter, 3, amount=3)
    clock.now += 5
    wait = counter.retry_after("caller", 3, 60)
    assert wait == 55
    clock.now += wait - 1
    assert not counter.hit("caller", 3, 60), "one second earlier is still too early"
    clock.now += 1
    assert counter.hit("caller", 3, 60)
    assert 1 <= counter.retry_after("caller", 3, 60) <= 60


def test_a_caller_below_its_limit_may_retry_at_once() -> None:
    counter = SlidingWindowCounter(Clock(6000.0))
    hits(counter, 2)
    assert counter.retry_after("caller", 20, 60) == 1


def test_callers_each_have_their_own_count_and_idle_ones_are_forgotten() -> None:
    clock = Clock(6000.0)
    counter = SlidingWindowCounter(clock)
    assert hits(counter, 2, amount=2) == [True, True]
    assert not counter.hit("caller", 2, 60)
    assert counter.hit("other", 2, 60)
    clock.now += max(PRUNE_EVERY, 60) + 1
    counter.hit("third", 2, 60)
    assert set(counter._logs) == {"third"}


def test_memory_is_at_most_the_limit_per_caller() -> None:
    clock = Clock(6000.0)
    counter = SlidingWindowCounter(clock)
    for n in range(1000):
        clock.now = 6000.0 + n
        counter.hit("caller", 5, 60)
    assert len(counter._logs["caller"][0]) == 5


def test_a_limit_of_zero_refuses_with_a_retry_after_not_an_error() -> None:
    counter = SlidingWindowCounter(Clock(6000.0 + 10))
    assert hits(counter, 2, amount=0) == [False, False]
    assert counter.retry_after("caller", 0, 60) == 60
