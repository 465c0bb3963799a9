"""Assignments: one agency's part in a work order, with a state machine of its own.

An order has one or more assignments: the lead agency's (主办) and any assisting
agencies' (协办). Each has a generation number: a 重办 (reopen) or a 改派 (reassign)
closes the current one and opens the next, so an update or an acknowledgement is judged
against the assignment it answers, from what Lianxin itself recorded, never from the
other side's clock. The order's own status follows its lead assignment through
`gateway.domain.states`; assisting assignments never move the order.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from gateway.domain.errors import IllegalTransition, InputError


class Role(StrEnum):
    """What the agency does for the order."""

    lead = "lead"  # 主办
    assisting = "assisting"  # 协办


class Step(StrEnum):
    """Where one assignment stands."""

    pending = "pending"  # 转办: the transfer is queued or on its way, not yet acknowledged
    dispatched = "dispatched"  # the agency acknowledged the transfer
    signed = "signed"  # 签收
    in_progress = "in_progress"  # 办理中
    extension_requested = "extension_requested"  # 延期申请
    replied = "replied"  # 答复 / 反馈 / 办结 by the agency
    returned = "returned"  # 退回: the agency gave its part back, with a reason
    superseded = "superseded"  # 改派 or 重办: a newer assignment took its place
    closed = "closed"  # the order was cancelled or archived


P = Step
#: the steps an assignment can still be answered in; the hotline's events end them
_OPEN = frozenset(
    {P.pending, P.dispatched, P.signed, P.in_progress, P.extension_requested, P.replied}
)
#: to-step → the steps it may follow. The agency moves its own assignment; `dispatched`
#: is the delivery's acknowledgement; superseded and closed are set by the hotline's events.
STEPS: dict[Step, frozenset[Step]] = {
    P.dispatched: frozenset({P.pending}),
    P.signed: frozenset({P.pending, P.dispatched}),
    P.in_progress: frozenset({P.signed, P.in_progress, P.extension_requested}),
    P.extension_requested: frozenset({P.signed, P.in_progress}),
    P.replied: frozenset({P.signed, P.in_progress, P.extension_requested}),
    P.returned: frozenset({P.pending, P.dispatched, P.signed, P.in_progress}),
    P.superseded: _OPEN,  # 改派 or 重办
    P.closed: _OPEN,  # the order was cancelled or archived
}

#: steps after which the assignment takes no more updates
FINISHED = frozenset({P.returned, P.superseded, P.closed})

#: how far along the main path a step is: an update that would go backwards arrived out of
#: order (its successor was applied first) and is recorded, not applied
PROGRESS: dict[Step, int] = {
    P.pending: 0,
    P.dispatched: 1,
    P.signed: 2,
    P.in_progress: 3,
    P.extension_requested: 3,
    P.replied: 4,
}


class Action(BaseModel):
    """Who on the agency's side did what, and when (their clock and ours)."""

    step: Step
    person: str | None = None  # e.g. 110's QSR 签收人, HANDLEPERSON, FKR
    unit: str | None = None  # e.g. 110's QSDW 签收单位, HANDLEDEPT, FKDW
    unit_code: str | None = None  # e.g. 110's GXDWDM 管辖单位代码
    reason: str | None = None
    recorded_at: float  # Lianxin's clock: what legality and ordering go by
    agency_time: str | None = None  # the agency's own occurred_at, kept and shown only


class Assignment(BaseModel):
    """One agency's part in an order, generation by generation."""

    agency: str
    role: Role
    generation: int = Field(ge=1)
    step: Step = Step.pending
    transfer_id: str | None = None  # the handoff that carried this generation's transfer
    opened_at: float = 0.0
    released_at: float | None = None  # 首派负责: responsible until a successor acknowledges
    return_reason: str | None = None
    waits_for_assisting: bool = False  # a lead whose 答复 waits for every 协办 reply
    actions: list[Action] = Field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.step not in FINISHED


def check_step(current: Step, target: Step, agency: str) -> None:
    """Raise IllegalTransition unless an assignment may go from `current` to `target`."""
    if current not in STEPS[target]:
        raise IllegalTransition(
            f"{agency}'s assignment is '{current.value}': '{target.value}' follows "
            f"{sorted(s.value for s in STEPS[target])}",
            current=current.value,
            target=target.value,
        )


def is_behind(current: Step, target: Step) -> bool:
    """Whether `target` is an earlier step than `current` on the main path: the update
    arrived after its successor and changes nothing."""
    if target not in PROGRESS or current not in PROGRESS:
        return False
    return PROGRESS[target] < PROGRESS[current]


def require_reason(target: Step, reason: str | None) -> None:
    if target in (Step.returned, Step.extension_requested) and not (reason and reason.strip()):
        raise InputError(f"'{target.value}' needs a reason on record", target=target.value)


def step_table() -> list[tuple[str, str]]:
    """(from, to) rows, sorted, for docs and tests."""
    return sorted(
        (source.value, target.value) for target, sources in STEPS.items() for source in sources
    )
