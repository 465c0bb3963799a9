"""Memory deadline watches: armed at intake, fired once when due, settled when answered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gateway.service.ports.store import Watch
from tests.fakes.state import MemoryState, WatchKey, WatchRow

ARMED, FIRED, SETTLED = "armed", "fired", "settled"


def _key(watch: Watch) -> WatchKey:
    return watch.order_id, watch.kind, watch.level, watch.agency


class MemoryWatches:
    """One row per (order, kind, level, agency); each fires at most once per arming."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def arm(self, *watches: Watch) -> None:
        """Arm each watch, or re-arm it at its new due time."""
        for watch in watches:
            self.state.watches[_key(watch)] = WatchRow(watch, ARMED)

    def fire_due(self, now: float, limit: int) -> list[Watch]:
        """Mark up to `limit` armed watches due by `now` as fired (soonest first), return them."""
        due = sorted(
            (row for row in self.state.watches.values() if row.state == ARMED),
            key=lambda row: row.watch.due_at,
        )
        fired = [row for row in due if row.watch.due_at <= now][:limit]
        for row in fired:
            self.state.watches[_key(row.watch)] = replace(row, state=FIRED, fired_at=now)
        return [row.watch for row in fired]

    def settle(self, order_id: str, kinds: Iterable[str], agency: str | None = None) -> int:
        """Disarm the order's armed watches of `kinds` (of one agency when given)."""
        wanted = set(kinds)
        settled = [
            key
            for key, row in self.state.watches.items()
            if row.state == ARMED
            and row.watch.order_id == order_id
            and row.watch.kind in wanted
            and agency in (None, row.watch.agency)
        ]
        for key in settled:
            self.state.watches[key] = replace(self.state.watches[key], state=SETTLED)
        return len(settled)

    def for_order(self, order_id: str) -> list[tuple[Watch, str]]:
        """Every watch of one order with its state, soonest first."""
        rows = [row for row in self.state.watches.values() if row.watch.order_id == order_id]
        return [(row.watch, row.state) for row in sorted(rows, key=lambda r: r.watch.due_at)]
