"""Memory work orders, inbound de-duplication marks and board cursors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from gateway.domain.workorder import WorkOrder
from gateway.service.ports.store import StoredOrder
from tests.fakes.state import DuplicateKey, MemoryState, OrderRow


def to_document(order: WorkOrder) -> str:
    """The order as the SQL store keeps it: compact JSON text (read back through pydantic)."""
    return json.dumps(order.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


class MemoryOrders:
    """Orders by id, unique on (origin, flow_id) as the `work_orders` table is."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def find(self, origin: str, flow_id: str) -> StoredOrder | None:
        order_id = self.state.order_keys.get((origin, flow_id))
        return None if order_id is None else self.get(order_id)

    def get(self, order_id: str) -> StoredOrder | None:
        row = self.state.orders.get(order_id)
        if row is None:
            return None
        order = WorkOrder.model_validate(json.loads(row.document))
        return StoredOrder(
            order=order, last_update_at=row.last_update_at, created_at=row.created_at
        )

    def add(self, order: WorkOrder, now: float, document: dict[str, Any] | None = None) -> None:
        if document is not None and document != order.model_dump(mode="json"):
            raise AssertionError(f"the document given with {order.id} is not its dump")
        key = (order.origin, order.flow_id)
        if order.id in self.state.orders or key in self.state.order_keys:
            raise DuplicateKey(f"work order {order.id} or {key} is stored already")
        self.state.orders[order.id] = OrderRow(
            order.id, order.origin, order.flow_id, to_document(order), 0.0, now
        )
        self.state.order_keys[key] = order.id

    def read_ahead(self, order_ids: Iterable[str]) -> None:
        """Nothing to save in memory: each `get` reads the current row anyway."""

    def replace(self, order: WorkOrder) -> None:
        """Store the order's new content; its origin, flow id and timestamps stay."""
        row = self.state.orders.get(order.id)
        if row is not None:
            self.state.orders[order.id] = replace(row, document=to_document(order))


class MemoryInbound:
    """(party, message id) pairs already received."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def remember(self, party: str, message_id: str, now: float, body: bytes | None = None) -> bool:
        if (party, message_id) in self.state.inbound:
            return False
        self.state.inbound.add((party, message_id))
        self.state.inbound_received[party, message_id] = now
        if body is not None:
            self.state.inbound_bodies[party, message_id] = body
        return True


class MemoryCursors:
    """Where each polled board was read up to."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, party: str) -> str | None:
        return self.state.cursors.get(party)

    def save(self, party: str, cursor: str, now: float) -> None:
        self.state.cursors[party] = cursor
