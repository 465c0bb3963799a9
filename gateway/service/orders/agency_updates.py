"""An agency's status update, judged against the assignment it answers.

Legality is decided from Lianxin's own records only: which assignment (agency and
generation) the update answers and where that assignment stands. The agency's
`occurred_at` is kept in the audit entry and on the assignment, never compared, so no
clock skew changes an outcome. The lead assignment's steps also move the order through
`gateway.domain.states`; an assisting agency's steps move only its own assignment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.domain.assignments import (
    Action,
    Assignment,
    Role,
    Step,
    check_step,
    is_behind,
    require_reason,
)
from gateway.domain.audit import AuditKind
from gateway.domain.errors import (
    IllegalTransition,
    InputError,
    NotAddressed,
    OrderClosed,
    Superseded,
    UnknownOrder,
)
from gateway.domain.messages import HOTLINE, StatusUpdate
from gateway.domain.states import TERMINAL, Actor, Status
from gateway.domain.workorder import WorkOrder
from gateway.service.deadlines.watch import answered_by
from gateway.service.directory import Directory
from gateway.service.orders import assignments
from gateway.service.orders.transitions import OrderSteps
from gateway.service.ports.store import UnitOfWork
from gateway.service.ports.transport import Outcome

#: the order status an agency may ask for → the step it means for the agency's assignment
STEP_FOR: dict[Status, Step] = {
    Status.signed: Step.signed,
    Status.in_progress: Step.in_progress,
    Status.extension_requested: Step.extension_requested,
    Status.replied: Step.replied,
    Status.resolved: Step.replied,
    Status.returned: Step.returned,
}
#: order statuses in which the lead's acknowledgement (or an update implying it) dispatches
AWAITING_DISPATCH = frozenset({Status.received, Status.reopened, Status.reassigned})
#: the audit event of every 退回, lead or assisting: health counts them per agency
RETURNED = AuditKind.assignment_returned


class AgencyUpdates:
    """Applies one verified, de-duplicated status update from an agency."""

    def __init__(self, directory: Directory, steps: OrderSteps, clock: Callable[[], float]):
        self.directory = directory
        self.steps = steps
        self.clock = clock

    def apply(
        self,
        uow: UnitOfWork,
        agency: str,
        msg_id: str,
        update: StatusUpdate,
        signed: dict[str, Any] | None = None,
    ) -> Outcome:
        """Judge `update` against the assignment it answers and apply it; `signed` is the
        sender's signature material, kept in each entry that records the update."""
        order = assignments.with_assignments(find_order(uow, update))
        assignment = self._answered(order, agency, update)
        target = self._target(agency, update)
        step = STEP_FOR.get(target)
        if step is None:
            raise IllegalTransition(f"an agency may not set '{target.value}'", target=target.value)
        if self.directory.profile(agency).emergency is not None:
            answered_by(uow, order.id, agency)  # only emergency agencies have that deadline
        detail = _detail(msg_id, update, target, assignment)
        if signed is not None:
            detail["signed"] = signed
        if is_behind(assignment.step, step) or assignment.step == step == Step.returned:
            self.steps.record(uow, AuditKind.outdated, order, agency, detail)
            return Outcome("outdated", order.id, order.status.value)
        require_reason(step, update.reason)
        action = _action(step, update, self.clock())
        if assignment.role == Role.lead:
            return self._lead(uow, order, assignment, target, action, update, detail)
        return self._assisting(uow, order, assignment, action, update, detail)

    def _answered(self, order: WorkOrder, agency: str, update: StatusUpdate) -> Assignment:
        """The assignment the update answers; typed refusals when there is none to answer."""
        if order.status in TERMINAL:
            raise OrderClosed(
                f"order {order.id} is {order.status.value}: it takes no more updates",
                order_id=order.id,
                status=order.status.value,
            )
        assignment = assignments.current(order, agency)
        if assignment is None:
            raise NotAddressed(f"order {order.id} is not addressed to '{agency}'", agency=agency)
        stale = update.generation is not None and update.generation < assignment.generation
        if stale or assignment.step == Step.superseded or _handed_on(order, assignment):
            raise Superseded(
                f"'{agency}' no longer holds order {order.id}: its assignment "
                f"(generation {update.generation or assignment.generation}) was superseded",
                order_id=order.id,
                generation=assignment.generation,
            )
        if update.generation is not None and update.generation > assignment.generation:
            raise InputError(
                f"order {order.id} has no generation {update.generation} for '{agency}'",
                generation=assignment.generation,
            )
        return assignment

    def _target(self, agency: str, update: StatusUpdate) -> Status:
        profile = self.directory.profile(agency)
        target = profile.status_for(update.status)
        if target is None:
            known = ", ".join(sorted(profile.status_map)) or "our status names"
            raise InputError(f"unknown status code '{update.status}' (known: {known})")
        return target

    def _lead(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        assignment: Assignment,
        target: Status,
        action: Action,
        update: StatusUpdate,
        detail: dict[str, Any],
    ) -> Outcome:
        agency = assignment.agency
        if assignment.step == Step.pending:  # it answered before its transfer's 2xx was recorded
            implied = {"implied_by": detail["msg_id"]}
            order, assignment = self.acknowledge(uow, order, assignment, implied, tell=True)
        if target == order.status == Status.in_progress:
            order = assignments.stepped(order, assignment, Step.in_progress, action)
            uow.orders.replace(order)
            progress = AuditKind.progress  # e.g. 120 已到达
            self.steps.record_forwarded(uow, progress, order, agency, detail, order.status, update)
            return Outcome("recorded", order.id, order.status.value)
        check_step(assignment.step, action.step, agency)
        previous = order.status
        order = assignments.stepped(order, assignment, action.step, action)
        if _held(order, assignment, target):
            uow.orders.replace(order)
            waiting = [a.agency for a in assignments.open_assisting(order)]
            held, kind = {**detail, "waiting": waiting}, AuditKind.reply_held
            self.steps.record_forwarded(uow, kind, order, agency, held, previous, update)
            return Outcome("recorded", order.id, order.status.value)
        order = self.steps.move(
            uow,
            order,
            target,
            Actor.agency,
            update.reason,
            agency,
            detail,
            tell=True,
            update=update,
        )
        if action.step == Step.returned:
            self.steps.record(uow, RETURNED, order, agency, detail)
        return Outcome("applied", order.id, order.status.value)

    def acknowledge(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        assignment: Assignment,
        detail: dict[str, Any],
        tell: bool,
        agency_ref: str | None = None,
    ) -> tuple[WorkOrder, Assignment]:
        """Mark a pending assignment dispatched; for the lead, the order too (written, and
        the hotline told when `tell`, naming the agency's `agency_ref` if it gave one). Its
        predecessors are released then (首派负责: an agency stays responsible until the
        reassignment is accepted)."""
        now = self.clock()
        moved = assignment.model_copy(update={"step": Step.dispatched})
        kept = assignments.replaced_in(order.assignments, assignment, moved)
        # one copy of the order for all that changes on it (each copy is a model_copy)
        changes = {"assignments": released_predecessors(kept, moved, now)}
        if assignment.role != Role.lead or order.status not in AWAITING_DISPATCH:
            order = order.model_copy(update=changes)
            uow.orders.replace(order)
            return order, moved
        handoff_id = detail.pop("handoff_id", None)
        detail = {**detail, "generation": assignment.generation}
        order = self.steps.move(
            uow,
            order,
            Status.dispatched,
            Actor.system,
            None,
            assignment.agency,
            detail,
            handoff_id,
            tell=tell,
            agency_ref=agency_ref,
            changes=changes,
        )
        return order, moved

    def _assisting(
        self,
        uow: UnitOfWork,
        order: WorkOrder,
        assignment: Assignment,
        action: Action,
        update: StatusUpdate,
        detail: dict[str, Any],
    ) -> Outcome:
        agency = assignment.agency
        if assignment.step == Step.pending:
            order, assignment = self.acknowledge(uow, order, assignment, {}, tell=False)
        if not (assignment.step == action.step == Step.in_progress):
            check_step(assignment.step, action.step, agency)
        order = assignments.stepped(order, assignment, action.step, action)
        uow.orders.replace(order)
        event = RETURNED if action.step == Step.returned else AuditKind.assist_update
        self.steps.record_forwarded(uow, event, order, agency, detail, order.status, update)
        order = self._release_held_reply(uow, order, agency)
        return Outcome("recorded", order.id, order.status.value)

    def _release_held_reply(self, uow: UnitOfWork, order: WorkOrder, last: str) -> WorkOrder:
        """The lead's held 答复 moves the order once no assisting part is left open."""
        lead = assignments.lead(order)
        if lead is None or not lead.waits_for_assisting or lead.step != Step.replied:
            return order
        if assignments.open_assisting(order) or order.status == Status.replied:
            return order
        detail = {"released_by": last, "generation": lead.generation}
        return self.steps.move(
            uow, order, Status.replied, Actor.agency, None, lead.agency, detail, tell=True
        )


def _held(order: WorkOrder, lead: Assignment, target: Status) -> bool:
    """Whether the lead's 答复 waits for assisting parts still open (the catalogue rule's
    `lead_waits_for_assisting`)."""
    return (
        target == Status.replied
        and lead.waits_for_assisting
        and bool(assignments.open_assisting(order))
    )


def released_predecessors(
    order_assignments: list[Assignment], successor: Assignment, now: float
) -> list[Assignment]:
    """The assignments with every superseded lead one released once `successor` (a lead)
    acknowledged: until then the agency that had it stays responsible."""
    if successor.role != Role.lead:
        return order_assignments
    return [
        a.model_copy(update={"released_at": now})
        if a.role == Role.lead and a.step == Step.superseded and a.released_at is None
        else a
        for a in order_assignments
    ]


def _handed_on(order: WorkOrder, assignment: Assignment) -> bool:
    """Whether a finished assignment (e.g. returned) has a newer generation after it."""
    return not assignment.open and any(
        a.role == assignment.role and a.generation > assignment.generation
        for a in order.assignments
    )


def find_order(uow: UnitOfWork, update: StatusUpdate) -> WorkOrder:
    stored = None
    if update.order_id:
        stored = uow.orders.get(update.order_id)
    elif update.flow_id:
        stored = uow.orders.find(HOTLINE, update.flow_id)
    else:
        raise InputError("a status update needs order_id or flow_id")
    if stored is None:
        raise UnknownOrder(
            "no work order matches this update", order_id=update.order_id, flow_id=update.flow_id
        )
    return stored.order


def _action(step: Step, update: StatusUpdate, now: float) -> Action:
    return Action(
        step=step,
        person=update.person,
        unit=update.unit,
        unit_code=update.unit_code,
        reason=update.reason,
        recorded_at=now,
        agency_time=update.occurred_at.isoformat(),
    )


def _detail(
    msg_id: str, update: StatusUpdate, target: Status, assignment: Assignment
) -> dict[str, Any]:
    """What the audit entry keeps: the message, the assignment, who did it, their time."""
    detail: dict[str, Any] = {
        "msg_id": msg_id,
        "agency_status": update.status,
        "target": target.value,
        "generation": assignment.generation,
        "role": assignment.role.value,
        "reason": update.reason,
        "agency_time": update.occurred_at.isoformat(),
    }
    who = {"person": update.person, "unit": update.unit, "unit_code": update.unit_code}
    return {**detail, **{k: v for k, v in who.items() if v}}
