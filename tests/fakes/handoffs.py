"""The memory outbox: the same claims, leases, FIFO rule and admin queries as the SQL one."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.domain.errors import InputError
from gateway.domain.messages import Handoff, HandoffState, Lane, Receipt, in_turns
from gateway.service.ports.queries import (
    DeadLetter,
    DeadLetterFilter,
    FailedDelivery,
    FailureQuery,
    HandoffView,
)
from gateway.service.ports.store import Delivered
from tests.fakes.state import DuplicateKey, HandoffRow, MemoryState

_FAILURE_STATES = {
    "dead": {HandoffState.dead},
    "retrying": {HandoffState.pending, HandoffState.in_flight},
    "any": {HandoffState.dead, HandoffState.pending, HandoffState.in_flight},
}
_DUE: dict[HandoffState, Callable[[HandoffRow, float], bool]] = {
    # expired leases first (their owner is gone), then pending handoffs whose time has come
    HandoffState.in_flight: lambda row, now: row.lease_until is not None and row.lease_until < now,
    HandoffState.pending: lambda row, now: row.handoff.next_attempt_at <= now,
}


class MemoryHandoffs:
    """Handoffs by id, kept in the order they were added (their seq)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.queued_lanes: list[Lane] = []

    def add(self, handoff: Handoff) -> None:
        if handoff.id in self.state.handoffs:
            raise DuplicateKey(f"handoff {handoff.id} is stored already")
        self.queued_lanes.append(handoff.lane)
        self.state.last_handoff_seq += 1
        written = replace(handoff, last_error=None)  # the SQL store does not write it either
        self.state.handoffs[handoff.id] = HandoffRow(self.state.last_handoff_seq, written)

    def claim(
        self,
        now: float,
        quotas: Mapping[str, int],
        lane: Lane,
        lease_until: float,
        owner: str,
        limit: int | None = None,
    ) -> list[Handoff]:
        """Lease due handoffs, at most `quotas[agency]` per agency (in the quotas' order)
        and `limit` in all (in turns), each the oldest open one of its order and agency,
        none of a held (disabled, paused) agency; expired leases come first."""
        heads = self._oldest_open()
        held = {name for name, s in self.state.agencies.items() if s.disabled or s.paused}
        due = {
            agency: [
                row for state in _DUE for row in self._due(agency, lane, state, now, heads)[:quota]
            ][:quota]
            for agency, quota in quotas.items()
            if quota > 0 and agency not in held
        }
        if limit is not None:
            shares = in_turns({agency: len(rows) for agency, rows in due.items()}, limit)
            due = {agency: rows[: shares.get(agency, 0)] for agency, rows in due.items()}
        chosen = [row for rows in due.values() for row in rows]
        claimed = []
        for row in chosen:
            attempts, token = row.handoff.attempts + 1, secrets.token_hex(8)
            # returned with the state as read, like SQL; stored leased, with its claim token
            claimed.append(replace(row.handoff, attempts=attempts, claim=token))
            leased = replace(
                row.handoff, state=HandoffState.in_flight, attempts=attempts, claim=token
            )
            self._put(replace(row, handoff=leased, lease_until=lease_until, lease_owner=owner))
        return claimed

    def delivered(self, handoff_id: str, claim: str | None, now: float, receipt: Receipt) -> bool:
        return self._fenced(
            handoff_id,
            claim,
            {"state": HandoffState.delivered, "last_error": None},
            delivered_at=now,
            last_status=receipt.status_code,
            agency_ref=receipt.agency_ref,
            lease_until=None,
        )

    def delivered_all(self, receipts: Sequence[Delivered]) -> set[tuple[str, str]]:
        return {
            (r.handoff_id, r.claim)
            for r in receipts
            if r.claim is not None and self.delivered(r.handoff_id, r.claim, r.at, r.receipt)
        }

    def reschedule(
        self, handoff_id: str, claim: str | None, at: float, error: str, status: int | None
    ) -> bool:
        changes = {"state": HandoffState.pending, "next_attempt_at": at, "last_error": error}
        return self._fenced(handoff_id, claim, changes, last_status=status, lease_until=None)

    def dead(self, handoff_id: str, claim: str | None, error: str, status: int | None) -> bool:
        changes = {"state": HandoffState.dead, "last_error": error}
        return self._fenced(handoff_id, claim, changes, last_status=status, lease_until=None)

    def _fenced(
        self, handoff_id: str, claim: str | None, changes: dict[str, Any], **columns: Any
    ) -> bool:
        """Change the handoff only while `claim` holds it in flight (see gateway.store.fence)."""
        row = self.state.handoffs.get(handoff_id)
        holds = (
            claim is not None
            and row is not None
            and (row.handoff.claim, row.handoff.state) == (claim, HandoffState.in_flight)
        )
        if holds:
            self._update(handoff_id, changes, **columns)
        return holds

    def cancel_pending(self, order_id: str, agency: str, why: str) -> int:
        waiting = [
            row.handoff.id
            for row in self._rows()
            if (row.handoff.order_id, row.handoff.agency, row.handoff.state)
            == (order_id, agency, HandoffState.pending)
        ]
        for handoff_id in waiting:
            self._update(handoff_id, {"state": HandoffState.cancelled, "last_error": why})
        return len(waiting)

    def for_order(self, order_id: str) -> list[HandoffView]:
        return [
            HandoffView(
                replace(row.handoff, claim=None), row.delivered_at, row.agency_ref, row.last_status
            )
            for row in self._rows()
            if row.handoff.order_id == order_id
        ]

    def count_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._rows():
            counts[row.handoff.state.value] = counts.get(row.handoff.state.value, 0) + 1
        return counts

    def dead_letters(
        self, which: DeadLetterFilter, after_seq: int, limit: int, upto_seq: int | None = None
    ) -> list[DeadLetter]:
        rows = [
            row
            for row in self._dead(which)
            if row.seq > after_seq and (upto_seq is None or row.seq <= upto_seq)
        ]
        return [_dead_letter(row) for row in rows[:limit]]

    def count_dead(self, which: DeadLetterFilter) -> int:
        return sum(1 for _ in self._dead(which))

    def revive(self, ids: Iterable[str], now: float) -> int:
        wanted = set(ids)
        revived = [row for row in self._dead(DeadLetterFilter()) if row.handoff.id in wanted]
        for row in revived:
            handoff = replace(
                row.handoff, state=HandoffState.pending, attempts=0, next_attempt_at=now, claim=None
            )
            self._put(replace(row, handoff=handoff, lease_until=None, lease_owner=None))
        return len(revived)

    def newest_seq(self) -> int:
        return self.state.last_handoff_seq if self.state.handoffs else 0

    def failures(
        self, query: FailureQuery, before_seq: int | None, limit: int
    ) -> list[FailedDelivery]:
        rows = [
            row
            for row in reversed(self._failed(query))
            if before_seq is None or row.seq < before_seq
        ]
        return [self._failed_delivery(row) for row in rows[:limit]]

    def count_failures(self, query: FailureQuery) -> int:
        return len(self._failed(query))

    def open_counts(self) -> dict[tuple[str, str, str], int]:
        counts: dict[tuple[str, str, str], int] = {}
        for row in self._rows():
            handoff = row.handoff
            if row.queued or handoff.state == HandoffState.dead:
                key = (handoff.state.value, handoff.agency, handoff.lane.value)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def _rows(self) -> Iterator[HandoffRow]:
        return iter(self.state.handoffs.values())

    def _put(self, row: HandoffRow) -> None:
        self.state.handoffs[row.handoff.id] = row

    def _update(self, handoff_id: str, changes: dict[str, Any], **columns: Any) -> None:
        """Change one handoff; an unknown id changes nothing (an UPDATE matching no row)."""
        row = self.state.handoffs.get(handoff_id)
        if row is not None:
            self._put(replace(row, handoff=replace(row.handoff, **changes), **columns))

    def _oldest_open(self) -> set[int]:
        """The seq of the oldest pending or in-flight handoff of each (order, agency)."""
        oldest: dict[tuple[str, str], int] = {}
        for row in self._rows():
            if row.queued:
                oldest.setdefault((row.handoff.order_id, row.handoff.agency), row.seq)
        return set(oldest.values())

    def _due(
        self, agency: str, lane: Lane, state: HandoffState, now: float, heads: set[int]
    ) -> list[HandoffRow]:
        rows = [
            row
            for row in self._rows()
            if row.handoff.state == state
            and row.handoff.agency == agency
            and row.handoff.lane == lane
            and row.seq in heads
            and _DUE[state](row, now)
        ]
        return sorted(rows, key=lambda row: (row.handoff.next_attempt_at, row.seq))

    def _dead(self, which: DeadLetterFilter) -> Iterator[HandoffRow]:
        for row in self._rows():
            handoff = row.handoff
            if (
                handoff.state == HandoffState.dead
                and which.agency in (None, handoff.agency)
                and (which.since is None or handoff.created_at >= which.since)
                and (which.until is None or handoff.created_at < which.until)
                and (not which.handoff_ids or handoff.id in which.handoff_ids)
            ):
                yield row

    def _failed(self, query: FailureQuery) -> list[HandoffRow]:
        states = _FAILURE_STATES.get(query.state)
        if states is None:
            raise InputError("state must be dead, retrying or any", state=query.state)
        return [row for row in self._rows() if row.handoff.state in states and _fits(row, query)]

    def _failed_delivery(self, row: HandoffRow) -> FailedDelivery:
        handoff = row.handoff
        order = self.state.orders.get(handoff.order_id)
        title = json.loads(order.document).get("title") if order else None
        return FailedDelivery(
            seq=row.seq,
            id=handoff.id,
            order_id=handoff.order_id,
            agency=handoff.agency,
            state=handoff.state.value,
            attempts=handoff.attempts,
            last_error=handoff.last_error,
            last_status=row.last_status,
            created_at=handoff.created_at,
            next_attempt_at=handoff.next_attempt_at,
            title=title,
        )


def _fits(row: HandoffRow, query: FailureQuery) -> bool:
    """Whether a handoff with a failed attempt on record matches the query's filters."""
    handoff = row.handoff
    error = handoff.last_error
    return (
        error is not None
        and query.agency in (None, handoff.agency)
        and (query.since is None or handoff.created_at >= query.since)
        and (query.until is None or handoff.created_at < query.until)
        and (not query.error or query.error.lower() in error.lower())
    )


def _dead_letter(row: HandoffRow) -> DeadLetter:
    handoff = row.handoff
    return DeadLetter(
        seq=row.seq,
        id=handoff.id,
        order_id=handoff.order_id,
        agency=handoff.agency,
        kind=handoff.kind.value,
        lane=handoff.lane.value,
        attempts=handoff.attempts,
        last_error=handoff.last_error,
        last_status=row.last_status,
        created_at=handoff.created_at,
    )
