"""The batch tally behind agency alerts: only what follows an agency's last delivery counts."""

from __future__ import annotations

from gateway.service.operations.agency_alerts import AgencyTally, Tally


def _fail(
    tally: Tally, at: float, dead: bool = False, gone: str | None = None, opened: bool = False
) -> None:
    tally.failed("tax-12366", at, dead=dead, gone=gone, circuit_opened=opened)


def test_failures_before_a_delivery_in_the_same_batch_no_longer_count() -> None:
    tally = Tally()
    _fail(tally, 1.0, opened=True, gone="HTTP 410")
    tally.delivered("tax-12366")
    _fail(tally, 3.0)
    _fail(tally, 4.0)
    assert tally.agencies["tax-12366"] == AgencyTally(
        delivered=True, failures=2, first_failure_at=3.0
    )


def test_dead_letters_are_counted_across_a_delivery() -> None:
    tally = Tally()
    _fail(tally, 1.0, dead=True)
    tally.delivered("tax-12366")
    _fail(tally, 2.0, dead=True)
    assert tally.agencies["tax-12366"].dead == 2


def test_a_410_and_an_opened_circuit_after_the_last_delivery_are_kept() -> None:
    tally = Tally()
    _fail(tally, 1.0, gone="HTTP 410 Gone")
    _fail(tally, 2.0, opened=True)
    kept = tally.agencies["tax-12366"]
    assert (kept.gone, kept.circuit_opened, kept.failures) == ("HTTP 410 Gone", True, 2)
