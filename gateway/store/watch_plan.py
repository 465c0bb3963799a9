"""An order's deadline watches as one JSON plan: the entries, their states, the next due time.

The `order_watches` row of an order holds its plan: a JSON list of entries, one per
(kind, level, agency), each with its due time, its state (armed, fired, settled) and when
it fired. `next_due` is the soonest armed due time, or None when nothing is armed: the
column the watch loop reads due rows by.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from gateway.service.ports.store import Watch

ARMED, FIRED, SETTLED = "armed", "fired", "settled"
Entry = dict[str, Any]  # kind, level, agency, due_at, state, fired_at


def entry_of(watch: Watch) -> Entry:
    """A freshly armed entry for `watch`."""
    return {
        "kind": watch.kind,
        "level": watch.level,
        "agency": watch.agency,
        "due_at": watch.due_at,
        "state": ARMED,
        "fired_at": None,
    }


def watch_of(order_id: str, entry: Entry) -> Watch:
    due_at = float(entry["due_at"])  # jsonb may write an integral number without its ".0"
    return Watch(order_id, entry["kind"], entry["level"], due_at, entry["agency"])


def armed(watches: Iterable[Watch], plan: list[Entry] | None = None) -> list[Entry]:
    """`plan` with each watch armed, or re-armed in its place at its new due time."""
    merged = list(plan or [])
    where = {_key(entry): n for n, entry in enumerate(merged)}
    for watch in watches:
        entry = entry_of(watch)
        n = where.get(_key(entry))
        if n is None:
            where[_key(entry)] = len(merged)
            merged.append(entry)
        else:
            merged[n] = entry
    return merged


def settle(plan: list[Entry], kinds: set[str], agency: str | None) -> int:
    """Mark the armed entries of `kinds` (of one agency when given) settled; how many."""
    count = 0
    for entry in plan:
        if entry["state"] == ARMED and entry["kind"] in kinds and agency in (None, entry["agency"]):
            entry["state"] = SETTLED
            count += 1
    return count


def due(plan: list[Entry], now: float) -> list[Entry]:
    """The armed entries due by `now`, soonest first."""
    return sorted(
        (e for e in plan if e["state"] == ARMED and e["due_at"] <= now),
        key=lambda e: e["due_at"],
    )


def next_due(plan: list[Entry]) -> float | None:
    """The soonest armed due time, or None when nothing is armed."""
    return min((e["due_at"] for e in plan if e["state"] == ARMED), default=None)


def dumps(plan: list[Entry]) -> str:
    return orjson.dumps(plan).decode()


def loads(text: str) -> list[Entry]:
    plan: list[Entry] = orjson.loads(text)
    return plan


def _key(entry: Entry) -> tuple[str, str, str]:
    return entry["kind"], entry["level"], entry["agency"]
