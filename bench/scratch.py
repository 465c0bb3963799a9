"""A unit of work that keeps nothing: what intake writes is linked or dropped, not stored.

`bench.hot_path render` runs intake's own `Intake.accept` on it, so the figure is
intake's per-order work as the code does it today, without the store. It offers only
what a new order's intake touches; a new call there fails here with an AttributeError
(add it, rather than let the figure leave work out).
"""

from __future__ import annotations

from typing import Any

from gateway.domain.audit import GENESIS, AuditEvent
from gateway.domain.messages import Handoff
from gateway.domain.workorder import WorkOrder
from gateway.service.audit import Chain
from gateway.service.ports.store import StoredOrder, Watch


class NewOrders:
    """Orders: none stored yet (each intake creates one); what is added is dropped."""

    def find(self, origin: str, flow_id: str) -> StoredOrder | None:
        return None

    def add(self, order: WorkOrder, now: float, document: dict[str, Any] | None = None) -> None:
        pass


class Dropped:
    """Handoffs and watches: added and forgotten."""

    def add(self, handoff: Handoff) -> None:
        pass

    def arm(self, *watches: Watch) -> None:
        pass


class LinkedAudit:
    """Entries linked onto a chain as the store links them at commit (canonical detail,
    entry hash), then dropped."""

    def __init__(self) -> None:
        self.chain = Chain()
        self.seq, self.head = 0, GENESIS

    def append(self, event: AuditEvent) -> None:
        self.seq += 1
        self.head = self.chain.link(self.seq, self.head, event).entry_hash


class ScratchUnitOfWork:
    """The repositories a new order's intake writes to, keeping nothing."""

    def __init__(self) -> None:
        self.orders = NewOrders()
        self.handoffs = self.watches = Dropped()
        self.audit = LinkedAudit()
