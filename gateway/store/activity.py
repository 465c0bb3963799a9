"""SQL implementation of the AgencyActivities port: per-agency activity over a time window.

Everything is windowed on the audit trail, where each outcome is recorded with its time:
`delivered` (or, in entries written before it, `acknowledged`), `dead_lettered`, `failed`
(any failed attempt). A handoff row
keeps its delivery time but no time of death, and `handoffs` has no index on time: a
window over it would read every delivered row ever kept. The audit trail has no index on
time either, but its `seq` grows with `at_us`, so the window's first entry is found by a
binary search on the primary key (about 25 point reads for 30 million entries) and only
the window's own entries are read: the cost follows the traffic in the window, not the
size of the history. Latencies join the window's acknowledgements to their handoffs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, case, func, select

from gateway.service.ports.queries import AgencyActivity
from gateway.store.schema import audit_log, handoffs

#: a delivery's entry: `delivered`, and `acknowledged` in entries written before it
DELIVERED = ("delivered", "acknowledged")
FAILED, DEAD_LETTERED = "failed", "dead_lettered"
RETURNED = "assignment_returned"


class SqlActivity:
    """Deliveries, latencies, dead-letterings and the newest failure of each agency."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def since(self, since: float, sample: int) -> dict[str, AgencyActivity]:
        """Per agency with any activity since `since` (epoch seconds)."""
        first = self._first_seq_at(int(since * 1_000_000))
        counts, newest_failure = self._outcomes(first)
        errors = self._errors(newest_failure)
        latencies = self._latencies(first, sample)
        return {
            agency: AgencyActivity(
                delivered=delivered,
                latencies=tuple(latencies.get(agency, ())),
                dead_lettered=dead,
                last_error=errors.get(agency, (None, None))[0],
                last_error_at=errors.get(agency, (None, None))[1],
                returned=returned,
            )
            for agency, (delivered, dead, returned) in counts.items()
        }

    def _outcomes(self, first: int) -> tuple[dict[str, tuple[int, int, int]], dict[int, str]]:
        """(delivered, dead-lettered, returned) per agency, and the seq of each one's newest
        failure."""
        c = audit_log.c
        query = (
            select(
                c.party,
                func.sum(case((c.event.in_(DELIVERED), 1), else_=0)),
                func.sum(case((c.event == DEAD_LETTERED, 1), else_=0)),
                func.sum(case((c.event == RETURNED, 1), else_=0)),
                func.max(case((c.event == FAILED, c.seq))),
            )
            .where(
                c.seq >= first,
                c.event.in_((*DELIVERED, FAILED, DEAD_LETTERED, RETURNED)),
                c.party.is_not(None),
            )
            .group_by(c.party)
        )
        counts: dict[str, tuple[int, int, int]] = {}
        newest: dict[int, str] = {}
        for party, delivered, dead, returned, failed_seq in self.conn.execute(query):
            counts[party] = (int(delivered or 0), int(dead or 0), int(returned or 0))
            if failed_seq is not None:
                newest[int(failed_seq)] = party
        return counts, newest

    def _errors(self, newest: dict[int, str]) -> dict[str, tuple[str | None, float]]:
        """The error text and time of the failures at the seqs in `newest`, per agency."""
        if not newest:
            return {}
        c = audit_log.c
        rows = self.conn.execute(select(c.seq, c.at_us, c.detail).where(c.seq.in_(list(newest))))
        found: dict[str, tuple[str | None, float]] = {}
        for seq, at_us, detail in rows:
            error: Any = json.loads(detail).get("error")
            found[newest[seq]] = (None if error is None else str(error), at_us / 1e6)
        return found

    def _latencies(self, first: int, sample: int) -> dict[str, list[float]]:
        """delivered_at − created_at of each agency's `sample` newest acknowledged handoffs
        (ranked in the audit trail first, so only those few are looked up in `handoffs`)."""
        a, h = audit_log.c, handoffs.c
        newest = func.row_number().over(partition_by=a.party, order_by=a.seq.desc())
        ranked = (
            select(a.party, a.handoff_id, newest.label("n"))
            .where(a.seq >= first, a.event.in_(DELIVERED), a.party.is_not(None))
            .subquery()
        )
        query = (
            select(ranked.c.party, h.delivered_at - h.created_at)
            .join_from(ranked, handoffs, h.id == ranked.c.handoff_id)
            .where(ranked.c.n <= sample, h.delivered_at.is_not(None))
            .order_by(ranked.c.party, ranked.c.n)
        )
        found: dict[str, list[float]] = defaultdict(list)
        for agency, latency in self.conn.execute(query):
            found[agency].append(max(float(latency), 0.0))
        return found

    def _first_seq_at(self, at_us: int) -> int:
        """The seq of the first audit entry written at or after `at_us` (binary search on
        the primary key; entries are numbered in commit order, so `at_us` grows with seq
        unless the clock was set back)."""
        c = audit_log.c
        low = int(self.conn.execute(select(func.coalesce(func.min(c.seq), 1))).scalar_one())
        high = int(self.conn.execute(select(func.coalesce(func.max(c.seq), 0))).scalar_one()) + 1
        while low < high:
            middle = (low + high) // 2
            probe = select(c.at_us).where(c.seq >= middle).order_by(c.seq).limit(1)
            written = self.conn.execute(probe).scalar()
            if written is not None and written < at_us:
                low = middle + 1
            else:
                high = middle
        return low
