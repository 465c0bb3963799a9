"""The audit log's SQL side: entries linked at the end of a unit of work, and the head row."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from gateway.domain.audit import AuditEvent, AuditRecord
from gateway.domain.errors import AuditError
from gateway.service.ports.store import AuditChain
from gateway.store.plain import PlainRead, PlainWrite
from gateway.store.schema import audit_head, audit_log


class SqlAuditLog:
    """Append-only, hash-chained audit entries; appends serialise on the head row at the end.

    Events appended wait, unlinked, until the unit of work ends (`flush`): then the head
    row is locked (`SELECT … FOR UPDATE` on PostgreSQL), the events are linked onto it by
    the service layer's `AuditChain` (time, masked detail, hash), inserted, and the head
    moved, just before the commit. Writers so overlap for everything but that short tail,
    and the chain is still appended in commit order: the head's lock is held to the
    commit. Reading the log (`for_order`) links what is pending first, taking the lock
    early. `checkpoint` and `restore` undo what a rolled-back savepoint appended.
    """

    def __init__(self, conn: Connection, chain: AuditChain) -> None:
        self.conn = conn
        self.chain = chain  # links each entry: its time, masked detail and hash
        self._events: list[AuditEvent] = []  # appended in this transaction, in order
        self._rows: list[dict[str, Any]] = []  # the linked ones, as audit_log rows
        self._inserted = 0  # how many of `_rows` are inserted (or queued for it)
        self._head: tuple[int, str] | None = None  # known once the head row is locked
        self._moved = False  # the head row is behind the entries linked

    def append(self, event: AuditEvent) -> None:
        self._events.append(event)

    def flush(self) -> None:
        """Link what is pending, insert it and move the head row to the last entry."""
        self._link()
        self._insert_linked()
        if self._moved and self._head is not None:
            seq, digest = self._head
            _MOVE_HEAD.send(self.conn, {"seq": seq, "hash": digest})
            self._moved = False

    def checkpoint(self) -> AuditMark:
        """Mark where the log stands (entries linked so far are inserted), for `restore`."""
        self._insert_linked()
        return AuditMark(len(self._events), len(self._rows), self._head, self._moved)

    def restore(self, mark: AuditMark) -> None:
        """Forget what was appended or linked since `mark` (its savepoint was rolled back:
        the rows it inserted are gone, and so is the head's lock if it took it)."""
        del self._events[mark.events :]
        del self._rows[mark.rows :]
        self._inserted = mark.rows
        self._head, self._moved = mark.head, mark.moved

    def for_order(self, order_id: str) -> list[AuditRecord]:
        self._link()
        self._insert_linked()
        query = select(audit_log).where(audit_log.c.order_id == order_id).order_by(audit_log.c.seq)
        return [record(row) for row in self.conn.execute(query)]

    def _link(self) -> None:
        """Link the events not linked yet onto the head (locked first, if not yet)."""
        if len(self._rows) == len(self._events):
            return
        seq, prev = self._lock_head()
        for event in self._events[len(self._rows) :]:
            linked = self.chain.link(seq + 1, prev, event)
            self._rows.append(_entry_row(linked))
            seq, prev = linked.seq, linked.entry_hash
        self._head, self._moved = (seq, prev), True

    def _insert_linked(self) -> None:
        if self._inserted < len(self._rows):
            _ADD_ENTRIES.run_many(self.conn, self._rows[self._inserted :])
            self._inserted = len(self._rows)

    def _lock_head(self) -> tuple[int, str]:
        if self._head is None:
            row = _HEAD.first(self.conn, {})
            if row is None:  # fail closed: no evidence, no exchange
                raise AuditError("the audit head row is missing: migrate the database")
            self._head = (row[0], row[1])
        return self._head


class AuditMark(NamedTuple):
    """Where a unit of work's audit log stood when its savepoint was made."""

    events: int
    rows: int
    head: tuple[int, str] | None
    moved: bool


def _entry_row(linked: AuditRecord) -> dict[str, Any]:
    return {
        "seq": linked.seq,
        "at_us": linked.at_us,
        "prev_hash": linked.prev_hash,
        "entry_hash": linked.entry_hash,
        "event": linked.event,
        "order_id": linked.order_id,
        "handoff_id": linked.handoff_id,
        "party": linked.party,
        "payload_digest": linked.payload_digest,
        "signature": linked.signature,
        "detail": linked.detail,
    }


_ADD_ENTRIES = PlainWrite(insert(audit_log))
_HEAD = PlainRead(
    select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1), for_update=True
)
_MOVE_HEAD = PlainWrite(update(audit_head).where(audit_head.c.id == 1))


def record(row: Any) -> AuditRecord:
    """An AuditRecord from an audit_log row."""
    return AuditRecord(
        seq=row.seq,
        at_us=row.at_us,
        event=row.event,
        order_id=row.order_id,
        handoff_id=row.handoff_id,
        party=row.party,
        payload_digest=row.payload_digest,
        signature=row.signature,
        detail=row.detail,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )
