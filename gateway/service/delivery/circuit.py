"""A circuit breaker per agency: stop hammering an endpoint that keeps failing.

Closed, an agency gets its normal quota. It opens when the last `window` attempts hold at
least `min_attempts` of which `failure_ratio` or more failed, or after `consecutive`
failures in a row. Open, it gets no quota: its handoffs wait in the outbox and keep their
attempts. After `cool_down` seconds it is half-open and gets one probe; a delivered probe
closes it, a failed one opens it again. A probe that never reports (nothing was due, or the
process lost it) is given up after another cool-down.

Only the normal lane is held: emergency handoffs keep their own schedule and, when it runs
out, their escalation. The state lives in this process (one breaker per dispatcher). A
profile turns its circuit on with `[circuit] enabled = true`; without it, never held.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from gateway.mapping.profiles import CircuitPolicy

log = logging.getLogger("lianxin.circuit")


class CircuitState(IntEnum):
    """As the gauge shows it."""

    closed = 0
    half_open = 1
    open = 2


@dataclass
class _Circuit:
    policy: CircuitPolicy
    outcomes: deque[bool] = field(default_factory=deque)  # True = failed
    in_a_row: int = 0
    state: CircuitState = CircuitState.closed
    opened_at: float = 0.0
    probe_at: float | None = None


class Breakers:
    """The circuits of every agency; safe to use from the loop and the writer threads."""

    def __init__(self, policies: Mapping[str, CircuitPolicy]) -> None:
        self._circuits = {name: _Circuit(p) for name, p in policies.items() if p.enabled}
        self._lock = threading.Lock()

    def record(self, agency: str, failed: bool, now: float) -> bool:
        """Feed one attempt's outcome; True when it opened a closed circuit (an alert)."""
        with self._lock:
            c = self._circuits.get(agency)
            if c is None:
                return False
            if c.state != CircuitState.closed:
                if c.probe_at is not None and failed:  # the probe (or a late attempt) decides
                    self._open(agency, c, now)
                elif c.probe_at is not None:
                    self._reset(c)
                return False
            c.outcomes.append(failed)
            if len(c.outcomes) > c.policy.window:
                c.outcomes.popleft()
            c.in_a_row = c.in_a_row + 1 if failed else 0
            if self._tripped(c):
                self._open(agency, c, now)
                return True
            return False

    def limit(self, quotas: Mapping[str, int], now: float) -> dict[str, int]:
        """`quotas` with open circuits removed and half-open ones cut to one probe."""
        with self._lock:
            allowed = {}
            for agency, quota in quotas.items():
                c = self._circuits.get(agency)
                if c is None or c.state == CircuitState.closed:
                    allowed[agency] = quota
                elif self._may_probe(c, now):
                    c.state, c.probe_at = CircuitState.half_open, now
                    allowed[agency] = 1
            return allowed

    def all_closed(self) -> bool:
        """Whether every circuit is closed: `limit` then gives no probe (a circuit opened
        since is not due one before its cool-down)."""
        with self._lock:
            return all(c.state == CircuitState.closed for c in self._circuits.values())

    def states(self) -> dict[str, CircuitState]:
        """The circuit of every agency that has one enabled."""
        with self._lock:
            return {name: c.state for name, c in self._circuits.items()}

    @staticmethod
    def _tripped(c: _Circuit) -> bool:
        if c.in_a_row >= c.policy.consecutive:
            return True
        seen = len(c.outcomes)
        return seen >= c.policy.min_attempts and sum(c.outcomes) >= c.policy.failure_ratio * seen

    @staticmethod
    def _may_probe(c: _Circuit, now: float) -> bool:
        if c.probe_at is not None:  # a probe is out; give it up after a cool-down
            return now - c.probe_at >= c.policy.cool_down
        return now - c.opened_at >= c.policy.cool_down

    @staticmethod
    def _open(agency: str, c: _Circuit, now: float) -> None:
        if c.state == CircuitState.closed:
            log.warning("circuit for %s opened: holding its normal deliveries", agency)
        c.state, c.opened_at, c.probe_at = CircuitState.open, now, None

    @staticmethod
    def _reset(c: _Circuit) -> None:
        c.state, c.probe_at, c.in_a_row = CircuitState.closed, None, 0
        c.outcomes.clear()
