"""Prometheus metrics: the dispatcher's counters, and gauges read from the store on scrape.

The service layer reports through the `Metrics` port (`gateway/service/ports.py`) and never
imports prometheus_client. Counters and the latency histogram live in this process (reset
on restart, as Prometheus expects of counters). Backlog, dead letters and agency states are
the database's truth, read with one cheap `COUNT … GROUP BY` per scrape, so every node of a
cluster reports the same numbers for them.

    lianxin_deliveries_total{agency,outcome}   attempts by outcome: delivered | retry | dead
    lianxin_retries_total{agency}              attempts rescheduled for a later try
    lianxin_delivery_seconds{agency}           histogram of attempt latency
    lianxin_backlog{agency,lane}               handoffs pending or in flight
    lianxin_dead_letters{agency}               dead-lettered handoffs awaiting replay
    lianxin_agency_paused{agency}              1 while an operator holds the agency
    lianxin_agency_disabled{agency}            1 after its endpoint answered 410
    lianxin_circuit_state{agency}              0 closed, 1 half-open (probing), 2 open
    lianxin_unauthenticated_refusals_total{party,code}  refused before anyone was authenticated
    lianxin_store_refusing_writes              1 while the database refuses writes
    lianxin_store_write_refusals_total         writes the database refused
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.domain.messages import Lane
from gateway.service.ports.store import AgencyState, UnitOfWork

#: the counter, latency histogram and retry counter (retries only) one attempt moves
AttemptSeries = tuple[Counter, Histogram, Counter | None]
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class StoreSnapshot:
    """What the gauges show, read in one transaction."""

    open_counts: dict[tuple[str, str, str], int]  # (state, agency, lane) → handoffs
    states: dict[str, AgencyState]


def snapshot(uow: UnitOfWork) -> StoreSnapshot:
    """Read the gauges' numbers from the store."""
    return StoreSnapshot(uow.handoff_queries.open_counts(), uow.agencies.states())


class PrometheusMetrics:
    """The Metrics port on a registry of its own (one per gateway, so tests never collide)."""

    def __init__(self, agencies: Iterable[str]) -> None:
        self.agencies = sorted(agencies)
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "lianxin_deliveries", "Delivery attempts by outcome", ["agency", "outcome"], registry=r
        )
        self.retries = Counter("lianxin_retries", "Attempts rescheduled", ["agency"], registry=r)
        self.latency = Histogram(
            "lianxin_delivery_seconds",
            "Delivery attempt latency",
            ["agency"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.backlog = Gauge(
            "lianxin_backlog", "Handoffs pending or in flight", ["agency", "lane"], registry=r
        )
        self.dead = Gauge("lianxin_dead_letters", "Dead-lettered handoffs", ["agency"], registry=r)
        self.paused = Gauge("lianxin_agency_paused", "1 while paused", ["agency"], registry=r)
        self.disabled = Gauge("lianxin_agency_disabled", "1 after a 410", ["agency"], registry=r)
        self.circuit = Gauge(
            "lianxin_circuit_state", "0 closed, 1 half-open, 2 open", ["agency"], registry=r
        )
        self.unauthenticated = Counter(
            "lianxin_unauthenticated_refusals",
            "Messages refused before their sender was authenticated (party 'unknown' if no agency)",
            ["party", "code"],
            registry=r,
        )
        self.store_refusing = Gauge(
            "lianxin_store_refusing_writes",
            "1 from a write the database refused until one goes through (alert on it)",
            registry=r,
        )
        self.store_refusals = Counter(
            "lianxin_store_write_refusals",
            "Writes the database refused (disk full, read-only, unreachable)",
            registry=r,
        )
        self._store_refusals_seen = 0
        self._scrape = threading.Lock()
        # the labelled series of each (agency, outcome), looked up once: `labels()` takes
        # a lock and builds its key on every call, once per attempt recorded
        self._series: dict[tuple[str, str], AttemptSeries] = {}

    def attempt(self, agency: str, outcome: str, seconds: float) -> None:
        """Count one recorded attempt and its latency."""
        series = self._series.get((agency, outcome))
        if series is None:
            series = self._series[agency, outcome] = self._attempt_series(agency, outcome)
        counted, latency, retries = series
        counted.inc()
        latency.observe(max(seconds, 0.0))
        if retries is not None:
            retries.inc()

    def _attempt_series(self, agency: str, outcome: str) -> AttemptSeries:
        """The series one attempt of `agency` ending in `outcome` counts in."""
        retries = self.retries.labels(agency) if outcome == "retry" else None
        return self.deliveries.labels(agency, outcome), self.latency.labels(agency), retries

    def store_writes(self, refusing: bool, refused_so_far: int) -> None:
        """Export the store's write health: the gauge, and the refusals counted so far."""
        self.store_refusing.set(int(refusing))
        if refused_so_far > self._store_refusals_seen:
            self.store_refusals.inc(refused_so_far - self._store_refusals_seen)
            self._store_refusals_seen = refused_so_far

    def refused_unauthenticated(self, party: str, code: str) -> None:
        """Count one unauthenticated refusal (the party is a known agency or 'unknown')."""
        self.unauthenticated.labels(party, code).inc()

    def exposition(self, seen: StoreSnapshot, circuits: Mapping[str, int] | None = None) -> bytes:
        """The text format, with the gauges set from `seen` and the dispatcher's circuits."""
        with self._scrape:
            for gauge in (self.backlog, self.dead, self.paused, self.disabled, self.circuit):
                gauge.clear()
            for agency, circuit in (circuits or {}).items():
                self.circuit.labels(agency).set(int(circuit))
            for agency in self.agencies:  # every agency shows, at zero when idle
                for each in Lane:
                    self.backlog.labels(agency, each.value).set(0)
                self.dead.labels(agency).set(0)
                state = seen.states.get(agency, AgencyState(agency))
                self.paused.labels(agency).set(int(state.paused))
                self.disabled.labels(agency).set(int(state.disabled))
            for (state_name, agency, lane), n in seen.open_counts.items():
                if state_name == "dead":
                    self.dead.labels(agency).inc(n)
                else:
                    self.backlog.labels(agency, lane).inc(n)
            return generate_latest(self.registry)
