"""An order's assignments: find the one an update answers, open the next, move a step.

Pure functions over `WorkOrder` (the assignments live in the order's document, so they
change in the same write as its status). Orders stored before assignments existed get
theirs derived from their status when first read here.
"""

from __future__ import annotations

from gateway.domain.assignments import Action, Assignment, Role, Step
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder

#: the lead assignment's step an order stored before assignments existed is taken to be at
_STEP_OF_STATUS: dict[Status, Step] = {
    Status.received: Step.pending,
    Status.dispatched: Step.dispatched,
    Status.signed: Step.signed,
    Status.in_progress: Step.in_progress,
    Status.supervised: Step.in_progress,
    Status.extension_requested: Step.extension_requested,
    Status.extension_approved: Step.in_progress,
    Status.replied: Step.replied,
    Status.resolved: Step.replied,
    Status.revisited: Step.replied,
    Status.returned: Step.returned,
    Status.reopened: Step.pending,
    Status.reassigned: Step.pending,
    Status.cancelled: Step.closed,
    Status.archived: Step.closed,
}


def with_assignments(order: WorkOrder) -> WorkOrder:
    """The order with its assignments (derived from its status if it has none yet)."""
    if order.assignments or not order.lead_agency:
        return order
    derived = [
        Assignment(
            agency=order.lead_agency,
            role=Role.lead,
            generation=1,
            step=_STEP_OF_STATUS[order.status],
        )
    ]
    derived += [
        Assignment(agency=agency, role=Role.assisting, generation=1, step=Step.dispatched)
        for agency in order.assisting_agencies
    ]
    return order.model_copy(update={"assignments": derived})


def current(order: WorkOrder, agency: str) -> Assignment | None:
    """The agency's newest assignment on the order, if it ever had one."""
    mine = [a for a in order.assignments if a.agency == agency]
    return max(mine, key=lambda a: a.generation) if mine else None


def lead(order: WorkOrder) -> Assignment | None:
    """The open lead assignment, if any."""
    return next((a for a in reversed(order.assignments) if a.role == Role.lead and a.open), None)


def latest_lead(order: WorkOrder) -> Assignment | None:
    """The newest lead assignment, open or not."""
    leads = [a for a in order.assignments if a.role == Role.lead]
    return max(leads, key=lambda a: a.generation) if leads else None


def open_assisting(order: WorkOrder) -> list[Assignment]:
    """Assisting parts still to be answered: not replied, returned, superseded or closed."""
    return [
        a
        for a in order.assignments
        if a.role == Role.assisting and a.open and a.step != Step.replied
    ]


def by_transfer(order: WorkOrder, handoff_id: str) -> Assignment | None:
    """The assignment whose transfer `handoff_id` carried."""
    return next((a for a in order.assignments if a.transfer_id == handoff_id), None)


def next_generation(order: WorkOrder) -> int:
    return max((a.generation for a in order.assignments), default=0) + 1


def opened(
    agency: str, role: Role, generation: int, transfer_id: str | None, now: float
) -> Assignment:
    return Assignment(
        agency=agency, role=role, generation=generation, transfer_id=transfer_id, opened_at=now
    )


def replaced(order: WorkOrder, old: Assignment, new: Assignment) -> WorkOrder:
    """The order with `old` (matched by agency and generation) replaced by `new`."""
    return order.model_copy(update={"assignments": replaced_in(order.assignments, old, new)})


def replaced_in(
    assignments: list[Assignment], old: Assignment, new: Assignment
) -> list[Assignment]:
    """`assignments` with `old` (matched by agency and generation) replaced by `new`."""
    return [
        new if (a.agency, a.generation) == (old.agency, old.generation) else a for a in assignments
    ]


def stepped(
    order: WorkOrder, assignment: Assignment, step: Step, action: Action | None
) -> WorkOrder:
    """The order with `assignment` moved to `step` (its action kept, if any)."""
    update: dict[str, object] = {"step": step}
    if action is not None:
        update["actions"] = [*assignment.actions, action]
    if step == Step.returned and action is not None:
        update["return_reason"] = action.reason
    return replaced(order, assignment, assignment.model_copy(update=update))


def close_all(order: WorkOrder, step: Step, now: float) -> WorkOrder:
    """The order with every open assignment moved to `step` and released (cancel, archive)."""
    moved = [
        a.model_copy(update={"step": step, "released_at": a.released_at or now}) if a.open else a
        for a in order.assignments
    ]
    return order.model_copy(update={"assignments": moved})
