"""The memory audit trail: the same hash chain as the SQL store, and the health read of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gateway.domain.audit import AuditEvent, AuditRecord
from gateway.service.audit import Chain
from gateway.service.ports.queries import AgencyActivity
from tests.fakes.state import MemoryState

DELIVERED = ("delivered", "acknowledged")  # `acknowledged`: entries written before `delivered`
FAILED, DEAD_LETTERED = "failed", "dead_lettered"
RETURNED = "assignment_returned"


class MemoryAuditLog:
    """Append-only, hash-chained entries, linked by the service layer's chain as the SQL
    store's are, on the store's clock (a test with a FixedClock gets the same times)."""

    def __init__(self, state: MemoryState, clock: Callable[[], float]) -> None:
        self.state = state
        self.chain = Chain(clock)

    def append(self, event: AuditEvent) -> None:
        head_seq, prev = self.state.audit_head
        self.state.audit.append(self.chain.link(head_seq + 1, prev, event))

    def for_order(self, order_id: str) -> list[AuditRecord]:
        return [record for record in self.state.audit if record.order_id == order_id]


class MemoryActivity:
    """Deliveries, latencies, dead-letterings and the newest failure of each agency, read
    from the audit entries written since a moment (as the SQL store reads them)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def since(self, since: float, sample: int) -> dict[str, AgencyActivity]:
        window = self._window(int(since * 1_000_000))
        found: dict[str, dict[str, Any]] = {}
        for record in window:
            if record.party is None or record.event not in (
                *DELIVERED,
                FAILED,
                DEAD_LETTERED,
                RETURNED,
            ):
                continue
            counts = found.setdefault(
                record.party, {"delivered": 0, "dead_lettered": 0, "returned": 0}
            )
            if record.event == RETURNED:
                counts["returned"] += 1
            elif record.event in DELIVERED:
                counts["delivered"] += 1
            elif record.event == DEAD_LETTERED:
                counts["dead_lettered"] += 1
            else:  # entries come in seq order: the last failure seen is the newest
                counts["last_error"] = _error_of(record)
                counts["last_error_at"] = record.at_us / 1e6
        return {
            agency: AgencyActivity(latencies=self._latencies(window, agency, sample), **counts)
            for agency, counts in found.items()
        }

    def _window(self, at_us: int) -> list[AuditRecord]:
        """The entries from the first one written at or after `at_us` on (seq grows with
        time, so this is the SQL store's binary search)."""
        entries = self.state.audit
        first = next((n for n, record in enumerate(entries) if record.at_us >= at_us), None)
        return [] if first is None else entries[first:]

    def _latencies(self, window: list[AuditRecord], agency: str, sample: int) -> tuple[float, ...]:
        """delivered_at − created_at of the agency's `sample` newest acknowledged handoffs."""
        acknowledged = [r for r in reversed(window) if r.event in DELIVERED and r.party == agency]
        latencies = []
        for record in acknowledged[:sample]:
            row = self.state.handoffs.get(record.handoff_id or "")
            if row is not None and row.delivered_at is not None:
                latencies.append(max(row.delivered_at - row.handoff.created_at, 0.0))
        return tuple(latencies)


def _error_of(record: AuditRecord) -> str | None:
    error = json.loads(record.detail).get("error")
    return None if error is None else str(error)
