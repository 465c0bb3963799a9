"""A small reference model of one order's closed loop: its status, its assignments, what
the hotline may be told. The model-based test (test_closed_loop_model.py) drives the real
service layer and this model with the same random steps and compares them after each.

The order's own table (`TRANSITIONS`) is the domain's; everything around it (which
assignment an update answers, generations, implied acknowledgements, superseded and
closed orders, out-of-order updates) is written here again, independently and plainly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.states import SIDE_TRANSITIONS, TRANSITIONS, Actor, Status

CLOSED = {Status.cancelled, Status.archived}
AWAITING = {Status.received, Status.reopened, Status.reassigned}
FINISHED = {"returned", "superseded", "closed"}
RANK = {
    "pending": 0,
    "dispatched": 1,
    "signed": 2,
    "in_progress": 3,
    "extension_requested": 3,
    "replied": 4,
}
#: what an assignment step may follow (the agency's own part)
FOLLOWS = {
    "signed": {"pending", "dispatched"},
    "in_progress": {"signed", "in_progress", "extension_requested"},
    "extension_requested": {"signed", "in_progress"},
    "replied": {"signed", "in_progress", "extension_requested"},
    "returned": {"pending", "dispatched", "signed", "in_progress"},
}
EVENT_TARGET = {
    "supplement": None,
    "supervise": Status.supervised,
    "cancel": Status.cancelled,
    "approve_extension": Status.extension_approved,
    "refuse_extension": Status.in_progress,
    "resolve": Status.resolved,
    "revisit": Status.revisited,
    "reopen": Status.reopened,
    "reassign": Status.reassigned,
    "archive": Status.archived,
}


@dataclass
class Part:
    agency: str
    role: str
    generation: int
    step: str = "pending"


@dataclass
class LoopModel:
    """What should be true of the order, step by step."""

    lead: str
    parts: list[Part] = field(default_factory=list)
    status: Status = Status.received
    history: list[Status] = field(default_factory=lambda: [Status.received])

    @classmethod
    def routed(cls, lead: str, assisting: list[str]) -> LoopModel:
        model = cls(lead)
        model.parts = [Part(lead, "lead", 1), *(Part(a, "assisting", 1) for a in assisting)]
        return model

    def snapshot(self) -> list[tuple[str, int, str, str]]:
        return [(p.agency, p.generation, p.role, p.step) for p in self.parts]

    def _current(self, agency: str) -> Part | None:
        mine = [p for p in self.parts if p.agency == agency]
        return max(mine, key=lambda p: p.generation) if mine else None

    def _move(self, status: Status) -> None:
        self.status = status
        self.history.append(status)

    # --- the transfer's acknowledgement --------------------------------------------------

    def acknowledged(self, agency: str, generation: int) -> None:
        part = next(p for p in self.parts if (p.agency, p.generation) == (agency, generation))
        if part.step != "pending":
            return  # answered since, or superseded: the late 2xx moves nothing
        part.step = "dispatched"
        if part.role == "lead" and self.status in AWAITING:
            self._move(Status.dispatched)

    # --- an agency's update ----------------------------------------------------------------

    def update(self, agency: str, generation: int | None, step: str) -> str:
        """The result (or error code) the update must get, applying it if it applies; an
        update that names no generation answers the agency's newest assignment."""
        if self.status in CLOSED:
            return "order_closed"
        part = self._current(agency)
        if part is None:
            return "not_addressed"
        newer = any(p.role == part.role and p.generation > part.generation for p in self.parts)
        if generation is None:
            generation = part.generation
        if (
            generation < part.generation
            or part.step == "superseded"
            or (part.step in FINISHED and newer)
        ):
            return "assignment_superseded"
        if step in RANK and part.step in RANK and RANK[step] < RANK[part.step]:
            return "outdated"
        if part.step == step == "returned":
            return "outdated"
        if part.role == "lead":
            return self._lead(part, step)
        return self._assisting(part, step)

    def _lead(self, part: Part, step: str) -> str:
        step_before, status_before, history_len = part.step, self.status, len(self.history)
        if part.step == "pending":
            part.step = "dispatched"
            if self.status in AWAITING:
                self._move(Status.dispatched)
        target = Status(step)
        if target == self.status == Status.in_progress:
            part.step = "in_progress"
            return "recorded"
        sources = TRANSITIONS[target][1]
        if part.step not in FOLLOWS[step] or self.status not in sources:
            part.step, self.status = step_before, status_before  # the whole unit rolls back
            del self.history[history_len:]
            return "illegal_transition"
        part.step = step
        self._move(target)
        return "applied"

    def _assisting(self, part: Part, step: str) -> str:
        current = "dispatched" if part.step == "pending" else part.step
        if not (current == step == "in_progress") and current not in FOLLOWS[step]:
            return "illegal_transition"
        part.step = step
        return "recorded"

    # --- the hotline's events --------------------------------------------------------------

    def event(self, kind: str, agency: str | None, generation: int) -> str:
        """The result the event must get, applying it if it applies; `generation` is the
        number a 改派 or 重办 gives the new lead assignment."""
        target = EVENT_TARGET[kind]
        if self.status in CLOSED and (target is None or self.status not in TRANSITIONS[target][1]):
            return "order_closed"
        if target is None:
            return "applied"
        if not self._hotline_may(target):
            return "illegal_transition"
        self._move(target)
        if kind in ("cancel", "archive"):
            for p in self.parts:
                if p.step not in FINISHED:
                    p.step = "closed"
        if kind in ("reopen", "reassign"):
            for p in self.parts:
                if p.role == "lead" and p.step not in FINISHED:
                    p.step = "superseded"
            new_lead = agency if kind == "reassign" else self.lead
            assert new_lead is not None
            self.lead = new_lead
            self.parts.append(Part(new_lead, "lead", generation))
        return "applied"

    def _hotline_may(self, target: Status) -> bool:
        actors, sources = TRANSITIONS[target]
        side = SIDE_TRANSITIONS.get((self.status, target), frozenset())
        return (Actor.hotline in actors and self.status in sources) or Actor.hotline in side

    def next_generation(self) -> int:
        return max(p.generation for p in self.parts) + 1

    def told_in_order(self, told: list[str]) -> bool:
        """Whether the statuses told to the hotline are ones the order took, in the order
        it took them (the same one may be told again: progress, assisting replies)."""
        at = 0
        for status in told:
            while at < len(self.history) and self.history[at] != status:
                at += 1
            if at == len(self.history):
                return False
        return True
