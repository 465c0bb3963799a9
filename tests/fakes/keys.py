"""Memory rotated signing keys, and retention (erasing old orders' personal data)."""

from __future__ import annotations

import json
from dataclasses import replace

from gateway.service.operations.retention import PURGED
from gateway.service.personal_data import erase_document
from gateway.service.ports.crypto import KeyRecord
from tests.fakes.state import DuplicateKey, MemoryState


class MemoryKeys:
    """Key records by (owner, key id)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def of(self, owner: str) -> list[KeyRecord]:
        """Every key of `owner`, newest first."""
        return [record for record in self.all() if record.owner == owner]

    def all(self) -> list[KeyRecord]:
        """Every key, by owner, newest first."""
        newest_first = sorted(self.state.keys.values(), key=lambda r: r.created_at, reverse=True)
        return sorted(newest_first, key=lambda record: record.owner)

    def add(self, record: KeyRecord) -> None:
        key = (record.owner, record.key_id)
        if key in self.state.keys:
            raise DuplicateKey(f"key {record.key_id} of {record.owner} is stored already")
        self.state.keys[key] = record

    def retire_others(self, owner: str, keep: str, at: float) -> list[str]:
        """Start the overlap window of every active key of `owner` but `keep`; their ids."""
        retiring = [
            record
            for record in self.state.keys.values()
            if record.owner == owner and record.key_id != keep and record.state == "active"
        ]
        for record in retiring:
            self._put(replace(record, state="retiring", retire_at=at))
        return [record.key_id for record in retiring]

    def retire_due(self, now: float) -> list[KeyRecord]:
        """Mark retired every key whose overlap window has passed; those keys as they were
        read (still `retiring`, like the SQL store's answer)."""
        due = [
            record
            for record in self.state.keys.values()
            if record.state == "retiring"
            and record.retire_at is not None
            and record.retire_at <= now
        ]
        for record in due:
            self._put(replace(record, state="retired"))
        return due

    def _put(self, record: KeyRecord) -> None:
        self.state.keys[record.owner, record.key_id] = record


class MemoryRetention:
    """Orders past retention, and the erasing of their personal data."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def due_for_purge(self, created_before: float, limit: int) -> list[str]:
        purged = {r.order_id for r in self.state.audit if r.event == PURGED}
        queued = {row.handoff.order_id for row in self.state.handoffs.values() if row.queued}
        due = [
            row
            for row in self.state.orders.values()
            if row.created_at < created_before and row.id not in purged | queued
        ]
        due.sort(key=lambda row: (row.created_at, row.id))
        return [row.id for row in due[:limit]]

    def erase_order(self, order_id: str) -> list[str]:
        row = self.state.orders[order_id]
        document = json.loads(row.document)
        erased = erase_document(document)
        if erased:
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            self.state.orders[order_id] = replace(row, document=text)
        return erased

    def erase_received_bodies(self, received_before: float) -> int:
        old = [k for k, at in self.state.inbound_received.items() if at < received_before]
        dropped = [k for k in old if self.state.inbound_bodies.pop(k, None) is not None]
        return len(dropped)

    def erase_bodies(self, order_id: str) -> int:
        """Empty the bodies of the order's delivered and dead handoffs; how many."""
        emptied = [
            row
            for row in self.state.handoffs.values()
            if row.handoff.order_id == order_id and not row.queued and row.handoff.body != b""
        ]
        for row in emptied:
            self.state.handoffs[row.handoff.id] = replace(
                row, handoff=replace(row.handoff, body=b"")
            )
        return len(emptied)
