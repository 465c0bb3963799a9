"""The work order's closed loop as one table of legal transitions.

受理 received → 转办 dispatched → 签收 signed → 办理 in_progress → 答复 replied → 办结 resolved
→ 回访 revisited → 归档 archived, with the side steps 退回 returned, 延期 extension_requested /
extension_approved, 督办 supervised, 重办 reopened, 改派 reassigned and cancelled. Each
agency's own part is an assignment with a table of its own (``gateway.domain.assignments``).
Both directions (hotline events and agency updates) go through ``check_transition``;
nothing else changes a status.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.domain.errors import IllegalTransition, InputError


class Status(StrEnum):
    """Where a work order stands."""

    received = "received"
    dispatched = "dispatched"
    signed = "signed"
    in_progress = "in_progress"
    replied = "replied"
    resolved = "resolved"
    revisited = "revisited"
    archived = "archived"
    returned = "returned"
    extension_requested = "extension_requested"
    extension_approved = "extension_approved"
    supervised = "supervised"
    reopened = "reopened"
    reassigned = "reassigned"
    cancelled = "cancelled"


class Actor(StrEnum):
    """Who asks for a transition."""

    system = "system"  # the dispatcher, when the agency acknowledged the transfer
    agency = "agency"  # the lead agency, through a signed inbound update
    hotline = "hotline"  # the hotline platform, through the events API


S, A = Status, Actor
_WORKING = (S.signed, S.in_progress, S.extension_approved, S.supervised)

#: to-status → (who may ask for it, from which statuses)
TRANSITIONS: dict[Status, tuple[frozenset[Actor], frozenset[Status]]] = {
    S.dispatched: (frozenset({A.system}), frozenset({S.received, S.reopened, S.reassigned})),
    S.signed: (frozenset({A.agency}), frozenset({S.dispatched, S.supervised})),
    S.in_progress: (
        frozenset({A.agency}),
        frozenset({S.signed, S.extension_requested, S.extension_approved, S.supervised}),
    ),
    S.replied: (frozenset({A.agency}), frozenset(_WORKING)),
    S.resolved: (frozenset({A.agency, A.hotline}), frozenset({*_WORKING, S.replied})),
    S.revisited: (frozenset({A.hotline}), frozenset({S.resolved})),
    S.archived: (frozenset({A.hotline}), frozenset({S.revisited, S.resolved, S.cancelled})),
    S.returned: (
        frozenset({A.agency}),
        frozenset({S.dispatched, S.signed, S.in_progress, S.supervised}),
    ),
    S.extension_requested: (frozenset({A.agency}), frozenset({S.signed, S.in_progress})),
    S.extension_approved: (frozenset({A.hotline}), frozenset({S.extension_requested})),
    S.supervised: (
        frozenset({A.hotline}),
        frozenset({S.dispatched, S.signed, S.in_progress, S.extension_approved}),
    ),
    S.reopened: (frozenset({A.hotline}), frozenset({S.replied, S.resolved, S.revisited})),
    S.reassigned: (
        frozenset({A.hotline}),
        frozenset(
            {
                S.received,
                S.dispatched,
                S.returned,
                S.reopened,
                S.reassigned,
                *_WORKING,
                S.extension_requested,
            }
        ),
    ),
    S.cancelled: (
        frozenset({A.hotline}),
        frozenset(
            {
                S.received,
                S.dispatched,
                S.signed,
                S.in_progress,
                S.returned,
                S.supervised,
                S.reopened,
                S.reassigned,
            }
        ),
    ),
}

#: (from, to) → who, besides TRANSITIONS: 延期不予批准 (a refused extension) sends the order
#: back to work with its deadline unchanged
SIDE_TRANSITIONS: dict[tuple[Status, Status], frozenset[Actor]] = {
    (S.extension_requested, S.in_progress): frozenset({A.hotline}),
}

#: Transitions that are refused without a reason on record (improper returns are a known abuse).
REASON_REQUIRED = frozenset(
    {S.returned, S.extension_requested, S.reopened, S.reassigned, S.cancelled}
)

TERMINAL = frozenset({S.archived, S.cancelled})


def check_transition(current: Status, target: Status, actor: Actor, reason: str | None) -> None:
    """Raise IllegalTransition unless `actor` may move an order from `current` to `target`."""
    if target == Status.received:
        raise IllegalTransition("no transition leads back to 'received'", current=current)
    if actor in SIDE_TRANSITIONS.get((current, target), frozenset()):
        return
    actors, sources = TRANSITIONS[target]
    if actor not in actors:
        raise IllegalTransition(
            f"{actor.value} may not set '{target.value}'",
            current=current.value,
            target=target.value,
        )
    if current not in sources:
        raise IllegalTransition(
            f"'{current.value}' → '{target.value}' is not a legal transition; "
            f"'{target.value}' follows {sorted(s.value for s in sources)}",
            current=current.value,
            target=target.value,
        )
    if target in REASON_REQUIRED and not (reason and reason.strip()):
        raise InputError(f"'{target.value}' needs a reason on record", target=target.value)


def transition_table() -> list[tuple[str, str, str]]:
    """(from, to, actors) rows, sorted, for docs and tests."""
    who: dict[tuple[str, str], set[str]] = {}
    for target, (actors, sources) in TRANSITIONS.items():
        for source in sources:
            who.setdefault((source.value, target.value), set()).update(a.value for a in actors)
    for (source, target), actors in SIDE_TRANSITIONS.items():
        who.setdefault((source.value, target.value), set()).update(a.value for a in actors)
    return sorted((a, b, ", ".join(sorted(names))) for (a, b), names in who.items())
