"""改派 and 重办: the lead assignment handed on to the next generation.

The current lead assignment is superseded (its agency stays responsible until the next
one acknowledges: 首派负责); when the order moves to another agency, the old agency's
handoffs not yet sent are cancelled and it is told over its own transport (the event
the hotline sent, e.g. 110's WithdrawCase). The new assignment gets its own transfer,
which carries its generation and the hotline's instructions.
"""

from __future__ import annotations

from gateway.domain.assignments import Role, Step
from gateway.domain.audit import AuditKind
from gateway.domain.errors import IllegalTransition
from gateway.domain.ids import new_id
from gateway.domain.messages import HOTLINE, HandoffKind, HotlineEvent
from gateway.domain.workorder import WorkOrder
from gateway.service.delivery import envelopes
from gateway.service.delivery.outbox import enqueue
from gateway.service.orders import assignments
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.store import UnitOfWork


def check_reassignable(steps: OrderSteps, order: WorkOrder, agency: str) -> None:
    """Refuse a 改派 to a party that cannot take the order."""
    steps.directory.profile(agency)  # UnknownAgency (404, with a suggestion) if unknown
    if agency == HOTLINE or order.origin != HOTLINE:
        raise IllegalTransition(
            f"order {order.id} cannot be reassigned to '{agency}': only the hotline's own "
            "orders go to agencies",
            order_id=order.id,
        )


def withdraw(
    steps: OrderSteps, uow: UnitOfWork, order: WorkOrder, agency: str, cancel: bool
) -> WorkOrder:
    """Supersede `agency`'s lead assignment; with `cancel`, also cancel the handoffs still
    waiting for it (a 改派; a 重办 goes back to the same agency, after what it has)."""
    old = assignments.lead(order)
    if old is not None:
        order = assignments.stepped(order, old, Step.superseded, None)
    cancelled = uow.handoffs.cancel_pending(order.id, agency, "withdrawn by 改派") if cancel else 0
    detail = {"generation": old.generation if old else None, "cancelled_handoffs": cancelled}
    steps.record(uow, AuditKind.assignment_superseded, order, agency, detail)
    return order


def hand_on(
    steps: OrderSteps, uow: UnitOfWork, order: WorkOrder, agency: str, event: HotlineEvent
) -> WorkOrder:
    """Open the next lead generation for `agency` and send it the order (written)."""
    now = steps.clock()
    generation = assignments.next_generation(order)
    handoff_id = new_id("msg")
    fresh = assignments.opened(agency, Role.lead, generation, handoff_id, now)
    before = assignments.latest_lead(order)
    if before is not None and before.waits_for_assisting:
        fresh = fresh.model_copy(update={"waits_for_assisting": True})
    order = order.model_copy(
        update={
            "lead_agency": agency,
            "assisting_agencies": [a for a in order.assisting_agencies if a != agency],
            "assignments": [*order.assignments, fresh],
        }
    )
    uow.orders.replace(order)
    profile = steps.directory.profile(agency)
    payload = envelopes.transfer(
        order,
        profile,
        lead=True,
        rule=event.type,
        catalogue=steps.directory.catalogue.version,
        cipher=steps.directory.cipher_for(agency),
        generation=generation,
        instructions=event.note,
    )
    enqueue(uow, order, profile, HandoffKind.transfer, payload, now, handoff_id)
    steps.record(
        uow,
        AuditKind.assigned,
        order,
        agency,
        {
            "generation": generation,
            "role": Role.lead.value,
            "by": event.type,
            "event_id": event.event_id,
        },
    )
    return order
