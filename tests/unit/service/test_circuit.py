"""The per-agency circuit breaker, on a hand-moved clock."""

from __future__ import annotations

from gateway.mapping.profiles import CircuitPolicy
from gateway.service.delivery.circuit import Breakers, CircuitState

TAX = "tax-12366"
QUOTA = {TAX: 8}


def breakers(**policy: float) -> Breakers:
    return Breakers({TAX: CircuitPolicy.model_validate({"enabled": True, **policy})})


def feed(b: Breakers, pattern: str, now: float = 0.0) -> None:
    """'x' a failed attempt, '.' a delivered one."""
    for mark in pattern:
        b.record(TAX, mark == "x", now)


def test_ten_failures_in_a_row_open_the_circuit() -> None:
    b = breakers()
    feed(b, "x" * 9)
    assert b.states()[TAX] == CircuitState.closed
    feed(b, "x")
    assert b.states()[TAX] == CircuitState.open and b.limit(QUOTA, 1.0) == {}


def test_seventy_percent_failures_over_ten_attempts_open_the_circuit() -> None:
    b = breakers()
    feed(b, "xx.xx.xx.x")  # 7 of 10, never more than 2 in a row
    assert b.states()[TAX] == CircuitState.open


def test_fewer_attempts_than_the_minimum_never_open_it_on_the_ratio() -> None:
    b = breakers(consecutive=100)
    feed(b, "xx.xx.xx")  # 6 of 8 failed, but only 8 attempts
    assert b.states()[TAX] == CircuitState.closed and b.limit(QUOTA, 0.0) == QUOTA


def test_after_the_cool_down_one_probe_goes_and_its_success_closes_the_circuit() -> None:
    b = breakers(consecutive=3, cool_down=30)
    feed(b, "xxx", now=100.0)
    assert b.limit(QUOTA, 129.0) == {}
    assert b.limit(QUOTA, 130.0) == {TAX: 1}
    assert b.states()[TAX] == CircuitState.half_open and b.limit(QUOTA, 131.0) == {}
    b.record(TAX, False, 131.0)
    assert b.states()[TAX] == CircuitState.closed and b.limit(QUOTA, 131.0) == QUOTA


def test_a_failed_probe_opens_the_circuit_for_another_cool_down() -> None:
    b = breakers(consecutive=3, cool_down=30)
    feed(b, "xxx", now=100.0)
    b.limit(QUOTA, 130.0)
    b.record(TAX, True, 131.0)
    assert b.states()[TAX] == CircuitState.open
    assert b.limit(QUOTA, 160.0) == {} and b.limit(QUOTA, 161.0) == {TAX: 1}


def test_a_probe_that_never_reports_is_given_up_after_a_cool_down() -> None:
    b = breakers(consecutive=3, cool_down=30)
    feed(b, "xxx", now=100.0)
    assert b.limit(QUOTA, 130.0) == {TAX: 1}  # nothing was due: no attempt, no result
    assert b.limit(QUOTA, 159.0) == {} and b.limit(QUOTA, 160.0) == {TAX: 1}


def test_an_agency_without_an_enabled_circuit_is_never_held() -> None:
    b = Breakers({TAX: CircuitPolicy()})
    feed(b, "x" * 50)
    assert b.states() == {} and b.limit(QUOTA, 1000.0) == QUOTA


def test_attempts_that_were_under_way_when_it_opened_do_not_close_it() -> None:
    b = breakers(consecutive=3)
    feed(b, "xxx")
    feed(b, "..")
    assert b.states()[TAX] == CircuitState.open
