"""Read models: an order with every handoff and audit step, for the API and the console.

Personal data is shown masked (gateway/domain/personal.py): the caller's name, phone and
ID number in the order, and phone and ID numbers in any audit detail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gateway.domain.assignments import Assignment
from gateway.domain.errors import UnknownOrder
from gateway.domain.personal import mask_caller, mask_strings
from gateway.service.orders.assignments import with_assignments
from gateway.service.ports.store import UnitOfWork


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def order_timeline(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    """The order, its handoffs and its audit entries, oldest first."""
    stored = uow.orders.get(order_id)
    if stored is None:
        raise UnknownOrder(f"no work order with id '{order_id}'", order_id=order_id)
    handoffs = [
        {
            "id": view.handoff.id,
            "agency": view.handoff.agency,
            "kind": view.handoff.kind,
            "lane": view.handoff.lane,
            "state": view.handoff.state,
            "attempts": view.handoff.attempts,
            "last_error": view.handoff.last_error,
            "last_status": view.last_status,
            "agency_ref": view.agency_ref,
            "created_at": _iso(view.handoff.created_at),
            "delivered_at": _iso(view.delivered_at),
            "payload_digest": view.handoff.body_digest,
        }
        for view in uow.handoff_queries.for_order(order_id)
    ]
    timeline = [
        {
            "seq": entry.seq,
            "at": _iso(entry.at_us / 1e6),
            "event": entry.event,
            "party": entry.party,
            "handoff_id": entry.handoff_id,
            "payload_digest": entry.payload_digest,
            "detail": mask_strings(json.loads(entry.detail)),
        }
        for entry in uow.audit.for_order(order_id)
    ]
    order = with_assignments(stored.order)
    document = order.model_dump(mode="json", exclude={"assignments"})
    document["caller"] = mask_caller(document["caller"])
    return {
        "id": order.id,
        "status": order.status,
        "lead_agency": order.lead_agency,
        "assignments": [assignment_view(a) for a in order.assignments],
        "work_order": document,
        "handoffs": handoffs,
        "timeline": timeline,
    }


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    """One assignment as the API shows it: our times as ISO 8601, the agency's as sent."""
    shown = assignment.model_dump(mode="json")
    shown["opened_at"] = _iso(assignment.opened_at or None)
    shown["released_at"] = _iso(assignment.released_at)
    for action, raw in zip(shown["actions"], assignment.actions, strict=True):
        action["recorded_at"] = _iso(raw.recorded_at)
    return shown
