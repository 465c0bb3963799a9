"""The writes every status change makes: the transition, its audit entry, the callbacks.

The one transition path: agency messages (agency_updates), the receipts the dispatcher
records (an implied dispatch), hotline events (hotline_events) and automatic 督办
(supervision) all move an order with `move`, which tells the hotline when asked, so every
direction moves an order the same way. One unit of work writes one entry: a move's or an
agency update's entry names the status callback it queued (`callback`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.domain.messages import HOTLINE, Handoff, HandoffKind, HotlineEvent, StatusUpdate
from gateway.domain.states import Actor, Status, check_transition
from gateway.domain.workorder import WorkOrder
from gateway.service.deadlines.watch import settle_on
from gateway.service.delivery import envelopes
from gateway.service.delivery.outbox import enqueue, mapped_detail
from gateway.service.directory import Directory
from gateway.service.ports.store import UnitOfWork


class OrderSteps:
    """Moves orders through the state machine and queues who must hear of it."""

    def __init__(self, directory: Directory, clock: Callable[[], float]) -> None:
        self.directory = directory
        self.clock = clock

    def move(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        target: Status,
        actor: Actor,
        reason: str | None,
        party: str,
        detail: dict[str, Any],
        handoff_id: str | None = None,
        tell: bool = False,
        agency_ref: str | None = None,
        update: StatusUpdate | None = None,
        changes: dict[str, Any] | None = None,
    ) -> WorkOrder:
        """Move `order` (with whatever else changed on it, e.g. an assignment, or is to
        change: its fields' new values in `changes`) to `target` and write it, with its
        audit entry. With `tell` the hotline is told too (a callback from `party`), in the
        agency's own words when given its `update`; the entry names the callback queued."""
        check_transition(order.status, target, actor, reason)
        moved = order.model_copy(update={**(changes or {}), "status": target})
        uow.orders.replace(moved)
        settle_on(uow, order.id, target)
        entry = {**detail, "from": order.status.value, "to": target.value}
        if tell:
            callback = self._callback(uow, moved, order.status, party, agency_ref, update)
            if callback is not None:
                entry["callback"] = mapped_detail(callback)
        self.record(uow, AuditKind.status_applied, order, party, entry, handoff_id)
        return moved

    def record_forwarded(
        self,
        uow: UnitOfWork,
        event: AuditKind,
        order: WorkOrder,
        agency: str,
        detail: dict[str, Any],
        previous: Status,
        update: StatusUpdate,
    ) -> None:
        """Record `agency`'s update as `event` and tell the hotline of it in the agency's
        own words: one entry, naming the callback queued."""
        callback = self._callback(uow, order, previous, agency, None, update)
        named = {} if callback is None else {"callback": mapped_detail(callback)}
        self.record(uow, event, order, agency, {**detail, **named})

    def _callback(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        previous: Status,
        agency: str,
        agency_ref: str | None,
        update: StatusUpdate | None,
    ) -> Handoff | None:
        """The status callback telling the hotline of a move, queued unaudited (the
        caller's entry names it): in the agency's words when it sent an `update`; else
        with none (the dispatch a receipt implies, an automatic 督办), and None for a
        matter the hotline did not send (it hears through its own events)."""
        if update is not None:
            return self._status_callback(
                uow,
                order,
                previous,
                agency,
                update.occurred_at.isoformat(),
                agency_status=update.status,
                reason=update.reason,
                result=update.result,
                agency_ref=update.agency_ref,
            )
        if order.origin != HOTLINE:
            return None
        occurred_at = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        return self._status_callback(
            uow, order, previous, agency, occurred_at, agency_ref=agency_ref
        )

    def _status_callback(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        previous: Status,
        agency: str,
        occurred_at: str,
        **words: str | None,
    ) -> Handoff:
        """The one way a status change reaches the hotline: queued in the same unit of work."""
        payload = envelopes.status(order, previous, agency, occurred_at=occurred_at, **words)
        profile, kind = self.directory.profile(HOTLINE), HandoffKind.status
        return enqueue(uow, order, profile, kind, payload, self.clock(), audited=False)

    @staticmethod
    def record(
        uow: UnitOfWork,
        event: AuditKind,
        order: WorkOrder,
        party: str,
        detail: dict[str, Any],
        handoff_id: str | None = None,
    ) -> None:
        uow.audit.append(
            AuditEvent(event, order_id=order.id, handoff_id=handoff_id, party=party, detail=detail)
        )

    def notify_agencies(self, uow: UnitOfWork, order: WorkOrder, event: HotlineEvent) -> None:
        """Forward a hotline event to every agency involved."""
        now = self.clock()
        for agency in parties(order):
            if agency != HOTLINE:
                profile = self.directory.profile(agency)
                cipher = self.directory.cipher_for(agency)
                payload = envelopes.event(order, profile, event, cipher)
                enqueue(uow, order, profile, HandoffKind.event, payload, now)


def parties(order: WorkOrder) -> list[str]:
    """Every agency involved in the order: lead, assisting, and the one it came from."""
    origin = [order.origin] if order.origin != HOTLINE else []
    found = [order.lead_agency, *order.assisting_agencies, *origin]
    return list(dict.fromkeys(a for a in found if a))
