"""The writes every status change makes: the transition, its audit entry, the callbacks.

The one transition path: agency messages (agency_updates), the receipts the dispatcher
records (an implied dispatch), hotline events (hotline_events) and automatic 督办
(supervision) all move an order with `move` and tell the hotline with `tell_hotline` or
`forward`, so every direction moves an order the same way.
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
    ) -> WorkOrder:
        """Move `order` (with whatever else changed on it, e.g. an assignment) to `target`
        and write it, with its audit entry. With `tell`, the hotline is told too
        (`tell_hotline`, as `party`); with `update`, it hears the agency's own words
        (`forward`); either way the entry names the callback it queued."""
        check_transition(order.status, target, actor, reason)
        moved = order.model_copy(update={"status": target})
        uow.orders.replace(moved)
        settle_on(uow, order.id, target)
        entry = {**detail, "from": order.status.value, "to": target.value}
        if tell or update is not None:
            callback = self._callback(uow, moved, order.status, party, agency_ref, update=update)
            if callback is not None:
                entry["callback"] = mapped_detail(callback)
        self.record(uow, AuditKind.status_applied, order, party, entry, handoff_id)
        return moved

    def forward(
        self, uow: UnitOfWork, order: WorkOrder, previous: Status, agency: str, update: StatusUpdate
    ) -> None:
        """Tell the hotline of an agency's update, in the agency's own words."""
        self._callback(uow, order, previous, agency, None, audited=True, update=update)

    def tell_hotline(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        previous: Status,
        agency: str,
        agency_ref: str | None = None,
    ) -> bool:
        """A status callback that carries no agency words (e.g. the dispatch an agency's
        receipt implies, or an automatic 督办); whether one was queued (a matter the
        hotline did not send is told through its own events)."""
        return self._callback(uow, order, previous, agency, agency_ref, audited=True) is not None

    def _callback(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        previous: Status,
        agency: str,
        agency_ref: str | None,
        audited: bool = False,
        update: StatusUpdate | None = None,
    ) -> Handoff | None:
        """The callback of `forward` (`update`) or else of `tell_hotline` (None for a
        matter the hotline did not send), queued; unaudited unless `audited`: the caller's
        entry names it."""
        if update is not None:
            return self._status_callback(
                uow,
                order,
                previous,
                agency,
                update.occurred_at.isoformat(),
                audited,
                agency_status=update.status,
                reason=update.reason,
                result=update.result,
                agency_ref=update.agency_ref,
            )
        if order.origin != HOTLINE:
            return None
        now = self.clock()
        occurred_at = datetime.fromtimestamp(now, UTC).isoformat()
        return self._status_callback(
            uow, order, previous, agency, occurred_at, audited, agency_ref=agency_ref
        )

    def _status_callback(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        previous: Status,
        agency: str,
        occurred_at: str,
        audited: bool,
        **words: str | None,
    ) -> Handoff:
        """The one way a status change reaches the hotline: queued in the same unit of work."""
        payload = envelopes.status(order, previous, agency, occurred_at=occurred_at, **words)
        profile, kind = self.directory.profile(HOTLINE), HandoffKind.status
        return enqueue(uow, order, profile, kind, payload, self.clock(), audited=audited)

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
