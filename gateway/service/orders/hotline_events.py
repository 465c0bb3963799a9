"""Hotline events: supplement, supervise, cancel, resolve, revisit… through the state machine.

For a matter an agency transferred to the hotline (e.g. 110's 双非 cases), the hotline is
the handling party and acts with the agency's rights: accept, feedback, return.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.domain.assignments import Step
from gateway.domain.audit import AuditKind
from gateway.domain.errors import IllegalTransition, OrderClosed, UnknownOrder
from gateway.domain.messages import HOTLINE, HotlineEvent
from gateway.domain.states import TERMINAL, TRANSITIONS, Actor, Status
from gateway.domain.workorder import WorkOrder
from gateway.service.deadlines.cards import plan_cards, zone_of
from gateway.service.deadlines.setting import calendar_alerts, uncertain_years
from gateway.service.deadlines.workdays import later_by
from gateway.service.orders import assignments
from gateway.service.orders.reassignment import check_reassignable, hand_on, withdraw
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.calendar import WorkdayCalendar
from gateway.service.ports.store import UnitOfWork
from gateway.service.ports.transport import Outcome

EVENT_TARGETS: dict[str, Status | None] = {
    "supplement": None,
    "supervise": Status.supervised,
    "cancel": Status.cancelled,
    "approve_extension": Status.extension_approved,
    "refuse_extension": Status.in_progress,  # back to work; the deadline stays
    "resolve": Status.resolved,
    "revisit": Status.revisited,
    "reopen": Status.reopened,
    "reassign": Status.reassigned,
    "archive": Status.archived,
    "accept": Status.signed,
    "feedback": Status.replied,
    "correct_reply": None,  # the status stays; the agency that sent the matter is told
    "return": Status.returned,
}
#: events by which the hotline acts as the handling party of a matter an agency sent it
HANDLER_EVENTS = frozenset({"accept", "feedback", "correct_reply", "return"})


class HotlineEvents:
    """Applies the hotline's events to its orders."""

    def __init__(
        self, steps: OrderSteps, clock: Callable[[], float], calendar: WorkdayCalendar
    ) -> None:
        self.steps = steps
        self.clock = clock
        self.calendar = calendar

    def apply(self, uow: UnitOfWork, order_id: str, event: HotlineEvent) -> Outcome:
        """Apply one hotline event (runs inside one unit of work)."""
        stored = uow.orders.get(order_id)
        if stored is None:
            raise UnknownOrder(f"no work order with id '{order_id}'", order_id=order_id)
        order = assignments.with_assignments(stored.order)
        if not uow.inbound.remember(HOTLINE, f"{order_id}/{event.event_id}", self.clock()):
            return Outcome("duplicate", order.id, order.status.value)
        target = EVENT_TARGETS[event.type]
        _refuse_if_closed(order, target)
        actor = self._actor_for(order, event)
        if event.agency is not None:
            check_reassignable(self.steps, order, event.agency)
        if event.type == "accept" and event.flow_id:
            order = order.model_copy(
                update={"partner_ids": {**order.partner_ids, HOTLINE: event.flow_id}}
            )
            uow.orders.replace(order)
        detail = {
            "event": event.type,
            "event_id": event.event_id,
            "reason": event.reason,
            "satisfaction": event.satisfaction,
            **({"agency": event.agency} if event.agency else {}),
        }
        if target is None:
            self.steps.record(uow, AuditKind.event_recorded, order, HOTLINE, detail)
        else:
            order = self.steps.move(uow, order, target, actor, event.reason, HOTLINE, detail)
        if event.type == "approve_extension":
            order = self._extend(uow, order, event)
        elif event.type == "refuse_extension":
            kept = order.due.resolve_by.isoformat() if order.due.resolve_by else None
            facts = {"reason": event.reason, "event_id": event.event_id, "resolve_by": kept}
            self.steps.record(uow, AuditKind.extension_refused, order, HOTLINE, facts)
        order = self._tell_and_hand_on(uow, order, event)
        return Outcome("applied", order.id, order.status.value)

    def _tell_and_hand_on(
        self, uow: UnitOfWork, order: WorkOrder, event: HotlineEvent
    ) -> WorkOrder:
        """Tell every agency involved; a 改派 or 重办 also opens the next lead assignment."""
        if event.type in ("cancel", "archive"):
            order = assignments.close_all(order, Step.closed, self.clock())
            uow.orders.replace(order)
        if event.type == "reassign" and order.lead_agency:
            order = withdraw(self.steps, uow, order, order.lead_agency, cancel=True)
        if event.type == "reopen" and order.lead_agency:
            order = withdraw(self.steps, uow, order, order.lead_agency, cancel=False)
        self.steps.notify_agencies(uow, order, event)
        new_lead = event.agency if event.type == "reassign" else order.lead_agency
        if event.type in ("reassign", "reopen") and new_lead:
            order = hand_on(self.steps, uow, order, new_lead, event)
        return order

    def _extend(self, uow: UnitOfWork, order: WorkOrder, event: HotlineEvent) -> WorkOrder:
        """Move the resolve-by deadline (延期) and re-arm its cards from now."""
        current = order.due.resolve_by or event.occurred_at
        policy = self.steps.directory.deadline_policy(
            order.location.division_code if order.location else None
        )
        counted = None
        if event.resolve_by is not None:
            new_due = event.resolve_by
        else:
            days = event.extend_working_days or 0
            new_due, counted = later_by(current, days, self.calendar, zone_of(policy))
        due = order.due.model_copy(update={"resolve_by": new_due})
        order = order.model_copy(update={"due": due})
        uow.orders.replace(order)
        now = self.clock()
        uow.watches.settle(order.id, ["resolve"])
        start = datetime.fromtimestamp(now, UTC)
        uow.watches.arm(
            *plan_cards(order.id, "resolve", start, new_due, policy, self.calendar, now)
        )
        years = uncertain_years(self.calendar, new_due, zone_of(policy), counted)
        detail = {
            "from": current.isoformat(),
            "to": new_due.isoformat(),
            "working_days": event.extend_working_days,
            **years,
        }
        self.steps.record(uow, AuditKind.deadline_extended, order, HOTLINE, detail)
        calendar_alerts(uow, self.steps.directory, order, years, now)
        return order

    @staticmethod
    def _actor_for(order: WorkOrder, event: HotlineEvent) -> Actor:
        if event.type not in HANDLER_EVENTS:
            return Actor.hotline
        if order.origin == HOTLINE:
            raise IllegalTransition(
                f"'{event.type}' is for matters an agency transferred to the hotline; "
                f"order {order.id} came from the hotline",
                order_id=order.id,
            )
        return Actor.agency  # the hotline handles this matter, as an agency would


def _refuse_if_closed(order: WorkOrder, target: Status | None) -> None:
    """A cancelled or archived order takes only a legal step out (cancelled → archived)."""
    if order.status not in TERMINAL:
        return
    if target is not None and order.status in TRANSITIONS[target][1]:
        return
    raise OrderClosed(
        f"order {order.id} is {order.status.value}: it takes no more events",
        order_id=order.id,
        status=order.status.value,
    )
