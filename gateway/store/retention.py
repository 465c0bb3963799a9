"""SQL implementation of the Retention port: find orders due for purging, erase their data.

Erasing needs no key: the personal fields are blanked whether sealed or not, so data
whose key is lost can still be purged.
"""

from __future__ import annotations

from sqlalchemy import Connection, exists, select, update

from gateway.domain.audit import AuditKind
from gateway.domain.messages import HandoffState
from gateway.service.ports.crypto import PersonalSeal
from gateway.store.documents import document_text, read_document
from gateway.store.opened_orders import OpenedOrders
from gateway.store.schema import audit_log, handoffs, inbound_messages, work_orders

QUEUED = (HandoffState.pending.value, HandoffState.in_flight.value)


class SqlRetention:
    """Orders past retention, and the erasing of their personal data."""

    def __init__(self, conn: Connection, seal: PersonalSeal, opened: OpenedOrders) -> None:
        self.conn = conn
        self.seal = seal  # knows which fields are personal
        self.opened = opened  # the orders kept opened: an erased one is dropped

    def due_for_purge(self, created_before: float, limit: int) -> list[str]:
        """Ids of orders created before then, not yet purged, with no handoff still queued."""
        purged = exists().where(
            audit_log.c.order_id == work_orders.c.id,
            audit_log.c.event == AuditKind.personal_data_purged.value,
        )
        queued = exists().where(
            handoffs.c.order_id == work_orders.c.id, handoffs.c.state.in_(QUEUED)
        )
        query = (
            select(work_orders.c.id)
            .where(work_orders.c.created_at < created_before, ~purged, ~queued)
            .order_by(work_orders.c.created_at, work_orders.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(query).scalars())

    def erase_order(self, order_id: str) -> list[str]:
        """Blank the caller's personal fields; the names of those that held a value."""
        # locked: a writer changing the order meanwhile would otherwise be written over
        # (SQLAlchemy leaves FOR UPDATE out on SQLite, whose writer holds the whole file)
        query = select(work_orders.c.document).where(work_orders.c.id == order_id)
        document = read_document(self.conn.execute(query.with_for_update()).scalar_one())
        erased = self.seal.erase_document(document)
        self.opened.forget(order_id)
        if erased:
            change = update(work_orders).where(work_orders.c.id == order_id)
            self.conn.execute(change.values(document=document_text(document)))
        return erased

    def erase_bodies(self, order_id: str) -> int:
        """Empty the bodies of the order's delivered and dead handoffs; how many."""
        change = (
            update(handoffs)
            .where(
                handoffs.c.order_id == order_id,
                handoffs.c.state.not_in(QUEUED),
                handoffs.c.body != b"",
            )
            .values(body=b"")
        )
        return int(self.conn.execute(change).rowcount)

    def erase_received_bodies(self, received_before: float) -> int:
        """Drop the kept bodies of messages received before then; how many."""
        kept = inbound_messages.c.body.is_not(None)
        change = update(inbound_messages).where(
            inbound_messages.c.received_at < received_before, kept
        )
        return int(self.conn.execute(change.values(body=None)).rowcount)
