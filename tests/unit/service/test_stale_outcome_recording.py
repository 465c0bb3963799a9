"""The recorder and the claim fence, without I/O: an outcome whose attempt lost its claim
is put on record as `stale_outcome` and writes nothing else, whatever it says."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.domain.audit import AuditEvent
from gateway.domain.errors import DeliveryError, PermanentDelivery, TransientDelivery
from gateway.domain.messages import Handoff, HandoffKind, Lane, Receipt
from gateway.mapping.profiles import AgencyProfile, Catalogue, Rule
from gateway.service.delivery.attempts import Attempt
from gateway.service.delivery.dispatcher import Dispatcher, DispatchSettings
from gateway.service.delivery.outbox import lanes_queued
from gateway.service.directory import Directory
from gateway.service.orders.agency_updates import AgencyUpdates
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.store import Delivered

TAX = "tax"


@dataclass
class FencedOutbox:
    """Handoffs by id, each held by one claim token; outcomes written only by their holder."""

    holders: dict[str, str]
    written: list[tuple[str, str]] = field(default_factory=list)
    queued_lanes: list[Lane] = field(default_factory=list)  # none: it has no `add`

    def _write(self, what: str, handoff_id: str, claim: str | None) -> bool:
        if claim is None or self.holders.get(handoff_id) != claim:
            return False
        self.written.append((what, handoff_id))
        del self.holders[handoff_id]  # recorded: the claim holds it no longer
        return True

    def delivered(self, handoff_id: str, claim: str | None, now: float, receipt: Receipt) -> bool:
        return self._write("delivered", handoff_id, claim)

    def delivered_all(self, receipts: Sequence[Delivered]) -> set[tuple[str, str]]:
        return {
            (r.handoff_id, r.claim)
            for r in receipts
            if r.claim is not None and self._write("delivered", r.handoff_id, r.claim)
        }

    def reschedule(
        self, handoff_id: str, claim: str | None, at: float, error: str, status: int | None
    ) -> bool:
        return self._write("pending", handoff_id, claim)

    def dead(self, handoff_id: str, claim: str | None, error: str, status: int | None) -> bool:
        return self._write("dead", handoff_id, claim)


class Untouchable:
    """A port the recorder must not use for a stale outcome."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a stale outcome used {name}")


class ReadAheadOnly(Untouchable):
    """A port a stale outcome may only read ahead with (the batch reads before it knows
    which receipts still hold their claims): it is never used after."""

    def read_ahead(self, *ids: Any) -> None:
        pass


class FakeStandings:
    """Enough of the standings port for one failure of an agency without a circuit."""

    def failed(self, agency: str, failures: int, first: float, now: float) -> Any:
        return type("Record", (), {"failures": failures, "failing_since": first})()

    def announce(self, *args: Any) -> bool:
        return False


@dataclass
class FakeUnitOfWork:
    handoffs: FencedOutbox
    audit_entries: list[AuditEvent] = field(default_factory=list)
    orders: Any = field(default_factory=ReadAheadOnly)
    agencies: Any = field(default_factory=Untouchable)
    standings: Any = field(default_factory=ReadAheadOnly)

    @property
    def audit(self) -> FakeUnitOfWork:
        return self

    def append(self, event: AuditEvent) -> None:
        self.audit_entries.append(event)


@dataclass
class CountedMetrics:
    outcomes: list[str] = field(default_factory=list)

    def attempt(self, agency: str, outcome: str, seconds: float) -> None:
        self.outcomes.append(outcome)


def dispatcher(metrics: CountedMetrics) -> Dispatcher:
    profiles = {TAX: AgencyProfile(id=TAX, name="税务", transport="memory")}
    catalogue = Catalogue(version="t", rules=(Rule(id="r", agencies=(TAX,)),))
    store: Any = None
    directory = Directory(profiles, catalogue)
    updates = AgencyUpdates(directory, OrderSteps(directory, time.time), time.time)
    settings = DispatchSettings(owner="t")
    return Dispatcher(store, directory, {}, {}, settings, updates, metrics=metrics)


def attempt(
    claim: str, receipt: Receipt | None = None, error: DeliveryError | None = None
) -> Attempt:
    handoff = Handoff(
        id="msg_1",
        order_id="wo_1",
        agency=TAX,
        kind=HandoffKind.transfer,
        lane=Lane.normal,
        body=b"{}",
        body_digest="0" * 64,
        attempts=1,
        claim=claim,
    )
    return Attempt(handoff, "memory://tax", "v1a,x", 10.0, 11.0, receipt, error)


LATE_OUTCOMES = {
    "a receipt": (Receipt(200, "f" * 64, agency_ref="CASE-1"), None),
    "a permanent 4xx": (None, PermanentDelivery("HTTP 400", status_code=400)),
    "a 410": (None, PermanentDelivery("HTTP 410", status_code=410, disable=True)),
    "a transient failure": (None, TransientDelivery("reset by peer")),
}


@pytest.mark.parametrize("late", LATE_OUTCOMES.values(), ids=LATE_OUTCOMES.keys())
def test_an_outcome_whose_claim_was_taken_over_writes_nothing_but_its_audit(
    late: tuple[Receipt | None, DeliveryError | None],
) -> None:
    metrics = CountedMetrics()
    uow = FakeUnitOfWork(FencedOutbox({"msg_1": "newer-claim"}))
    late_attempt = attempt("older-claim", *late)
    recorder = dispatcher(metrics)
    _, lanes = lanes_queued(uow, lambda uow: recorder._record_batch(uow, [late_attempt]))  # type: ignore[arg-type]
    assert lanes == frozenset()  # no callback queued, no alert raised: no lane to wake
    assert uow.handoffs.written == [] and uow.handoffs.holders == {"msg_1": "newer-claim"}
    (stale,) = uow.audit_entries
    assert stale.event == "stale_outcome"
    assert (stale.payload_digest, stale.signature) == ("0" * 64, "v1a,x")  # what was sent
    assert metrics.outcomes == ["stale"]


def test_a_stale_outcome_names_its_attempt_and_what_it_ended_with() -> None:
    uow = FakeUnitOfWork(FencedOutbox({"msg_1": "newer-claim"}))
    late = attempt("older-claim", error=PermanentDelivery("HTTP 400: 字段缺失", status_code=400))
    dispatcher(CountedMetrics())._record_batch(uow, [late])  # type: ignore[arg-type]
    stale = uow.audit_entries[-1]
    assert (stale.handoff_id, stale.party, stale.order_id) == ("msg_1", TAX, "wo_1")
    assert stale.detail == {
        "attempt": 1,
        "endpoint": "memory://tax",
        "ms": 1000.0,
        "claim": "older-claim",
        "outcome": "failed",
        "status": 400,
        "error": "HTTP 400: 字段缺失",
    }


def test_the_attempt_that_holds_its_claim_records_its_failure() -> None:
    metrics = CountedMetrics()
    uow = FakeUnitOfWork(FencedOutbox({"msg_1": "my-claim"}))
    failed = attempt("my-claim", error=TransientDelivery("HTTP 503", status_code=503))
    uow.standings = FakeStandings()
    dispatcher(metrics)._record_batch(uow, [failed])  # type: ignore[arg-type]
    assert uow.handoffs.written == [("pending", "msg_1")]
    assert [e.event for e in uow.audit_entries] == ["failed", "retry_scheduled"]
    failure = uow.audit_entries[0]
    assert (failure.payload_digest, failure.signature) == ("0" * 64, "v1a,x")
    assert failure.detail == {
        "attempt": 1,
        "endpoint": "memory://tax",
        "ms": 1000.0,
        "error": "HTTP 503",
        "status": 503,
        "retryable": True,
    }
    assert metrics.outcomes == ["retry"]
